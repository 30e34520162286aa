//! `network.banking-url`: URLs whose registrable domain belongs to a bank,
//! payment processor, card network or crypto exchange.
//!
//! Banking credentials and payment flows are what phishing kits and stealers go
//! after; a payments SDK legitimately contains them too, hence a low default.
//! URLs follow [`super::urls`] rules (code/strings only, no tests/docs/metadata).

use super::urls;
use crate::model::{Category, Severity};
use crate::scan::detector::{Detector, DetectorMeta, Hits, Interest, TextFile};

pub(crate) static META: DetectorMeta = DetectorMeta {
    id: "network.banking-url",
    revision: 1,
    title: "Contains URLs related to banking and monetary institutions.",
    category: Category::Network,
    severity: Severity::Low,
    description: "Links to banks, payment processors and exchanges are what phishing kits and credential stealers target; review why the package talks to them.",
};

/// Registrable domains of banks, payment processors, card networks and exchanges.
const BANKING: &[&str] = &[
    "paypal.com",
    "paypal.me",
    "paypalobjects.com",
    "chase.com",
    "jpmorgan.com",
    "jpmorganchase.com",
    "bankofamerica.com",
    "wellsfargo.com",
    "citi.com",
    "citibank.com",
    "citigroup.com",
    "usbank.com",
    "capitalone.com",
    "pnc.com",
    "truist.com",
    "americanexpress.com",
    "discover.com",
    "visa.com",
    "mastercard.com",
    "stripe.com",
    "squareup.com",
    "venmo.com",
    "zellepay.com",
    "wise.com",
    "transferwise.com",
    "revolut.com",
    "n26.com",
    "monzo.com",
    "hsbc.com",
    "hsbc.co.uk",
    "barclays.co.uk",
    "barclays.com",
    "lloydsbank.com",
    "natwest.com",
    "santander.com",
    "santander.co.uk",
    "bnpparibas.com",
    "societegenerale.com",
    "credit-agricole.fr",
    "db.com",
    "deutsche-bank.de",
    "commerzbank.de",
    "ing.com",
    "ing.nl",
    "rabobank.nl",
    "abnamro.nl",
    "ubs.com",
    "credit-suisse.com",
    "rbc.com",
    "td.com",
    "tdbank.com",
    "scotiabank.com",
    "bmo.com",
    "cibc.com",
    "westpac.com.au",
    "commbank.com.au",
    "anz.com",
    "nab.com.au",
    "goldmansachs.com",
    "morganstanley.com",
    "schwab.com",
    "fidelity.com",
    "vanguard.com",
    "etrade.com",
    "robinhood.com",
    "coinbase.com",
    "binance.com",
    "kraken.com",
    "blockchain.com",
    "bitfinex.com",
    "bitstamp.net",
    "kucoin.com",
    "okx.com",
    "bybit.com",
    "payoneer.com",
    "skrill.com",
    "neteller.com",
    "alipay.com",
    "sberbank.ru",
    "tinkoff.ru",
    "qiwi.com",
    "yoomoney.ru",
    "sofi.com",
    "ally.com",
    "adyen.com",
    "klarna.com",
    "afterpay.com",
    "westernunion.com",
    "moneygram.com",
    "icicibank.com",
    "hdfcbank.com",
    "sbi.co.in",
    "paytm.com",
    "mercadopago.com",
    "nubank.com.br",
    "itau.com.br",
    "bradesco.com.br",
];

pub(crate) struct BankingUrl;

impl Detector for BankingUrl {
    fn meta(&self) -> &'static DetectorMeta {
        &META
    }
    fn interest(&self) -> Interest {
        Interest::Literals(urls::URL_LITERALS)
    }
    fn scan_text(&self, file: &TextFile<'_>, hits: &mut Hits) {
        urls::report_each(file, hits, &META, |u| BANKING.contains(&u.registrable()).then(|| u.host.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::FileRole::*;
    use crate::scan::detectors::testutil::table;
    use Severity::*;

    #[test]
    fn cases() {
        table(
            &BankingUrl,
            META.id,
            &[
                (
                    "paypal api",
                    "pkg/pay.py",
                    Runtime,
                    "API = 'https://api-m.paypal.com/v2/checkout'\n",
                    Some((1, "api-m.paypal.com", Low)),
                ),
                (
                    "bank in setup.py",
                    "setup.py",
                    InstallTime,
                    "x = 1\nu = \"https://www.chase.com/login\"\n",
                    Some((2, "www.chase.com", Medium)),
                ),
                (
                    "look-alike is not the bank",
                    "pkg/a.py",
                    Runtime,
                    "u = 'https://paypal.com.evil.example.org/'\n",
                    None,
                ),
                ("bank in docstring", "pkg/a.py", Runtime, "\"\"\"Pay via https://www.paypal.com\"\"\"\n", None),
                ("bank in tests", "pkg/tests/t.py", Runtime, "u = 'https://www.paypal.com'\n", None),
                ("unrelated", "pkg/a.py", Runtime, "u = 'https://example.org/bank'\n", None),
            ],
        );
    }
}
