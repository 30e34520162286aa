use super::limits::{Config as Limits, Limit, Rate};
use super::*;
use std::net::IpAddr;

const ALICE_TOKEN: &str = "pgt_alice-secret-token";

fn basic(user: &str, token: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{token}")))
}

fn users() -> Config {
    Config { users: [("alice".to_string(), TokenHash::of(ALICE_TOKEN))].into(), ..Config::default() }
}

fn asking<'a>(authorization: Option<&'a str>, client: &str) -> Asking<'a> {
    Asking { authorization, client: client.parse().unwrap(), secure: false, user: None, download: false }
}

#[tokio::test]
async fn credentials_are_checked_against_the_hashed_tokens() {
    let good = basic("alice", ALICE_TOKEN);
    let wrong = basic("alice", "pgt_guess");
    let unknown = basic("mallory", ALICE_TOKEN);
    let no_colon = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("alice"));
    let lower = good.replacen("Basic", "basic", 1);
    let remote_ok = Config { dangerous_allow_plain_http: true, ..users() };
    type Want = Result<Option<&'static str>, &'static str>;
    let cases: Vec<(&str, Config, Asking, Want)> = vec![
        ("right token", users(), asking(Some(&good), "127.0.0.1"), Ok(Some("alice"))),
        ("scheme is case-insensitive", users(), asking(Some(&lower), "127.0.0.1"), Ok(Some("alice"))),
        ("no credentials: 401 asks for them", users(), asking(None, "127.0.0.1"), Err("auth:required")),
        ("wrong token", users(), asking(Some(&wrong), "127.0.0.1"), Err("auth:invalid")),
        ("unknown user with a real token", users(), asking(Some(&unknown), "127.0.0.1"), Err("auth:invalid")),
        ("bearer is not basic", users(), asking(Some("Bearer abc"), "127.0.0.1"), Err("auth:malformed")),
        ("not base64", users(), asking(Some("Basic ???"), "127.0.0.1"), Err("auth:malformed")),
        ("no colon", users(), asking(Some(&no_colon), "127.0.0.1"), Err("auth:malformed")),
        ("plain HTTP from another machine", users(), asking(Some(&good), "10.1.2.3"), Err("auth:plain-http")),
        (
            "plain HTTP from another machine, refused before any 401",
            users(),
            asking(None, "10.1.2.3"),
            Err("auth:plain-http"),
        ),
        (
            "TLS from another machine",
            users(),
            Asking { secure: true, ..asking(Some(&good), "10.1.2.3") },
            Ok(Some("alice")),
        ),
        ("plain HTTP allowed dangerously", remote_ok, asking(Some(&good), "10.1.2.3"), Ok(Some("alice"))),
        ("IPv6 loopback", users(), asking(Some(&good), "::1"), Ok(Some("alice"))),
        (
            "a front end already authenticated (proxy auth)",
            users(),
            Asking { user: Some("bob"), ..asking(None, "10.1.2.3") },
            Ok(Some("bob")),
        ),
        ("no users configured: anonymous", Config::default(), asking(None, "10.1.2.3"), Ok(None)),
        ("no users configured: credentials ignored", Config::default(), asking(Some(&wrong), "10.1.2.3"), Ok(None)),
    ];
    for (case, config, req, want) in cases {
        let got = Access::new(config, None).admit(req).await;
        let got = got.as_ref().map(|a| a.user.as_deref()).map_err(Refusal::code);
        assert_eq!(got, want, "{case}");
    }
}

#[test]
fn refusals_say_what_to_do_and_never_echo_the_token() {
    let r = Refusal::BadCredentials { user: "alice".into() };
    assert_eq!(r.status(), 401);
    assert!(!r.to_string().contains(ALICE_TOKEN));
    let cases = [
        (Refusal::CredentialsRequired, 401, "USER:TOKEN@HOST"),
        (Refusal::PlainHttp, 403, "HTTPS"),
        (Refusal::PlainHttp, 403, "auth.dangerous_allow_plain_http"),
    ];
    for (r, status, says) in cases {
        assert_eq!(r.status(), status, "{r}");
        assert!(r.to_string().contains(says), "{r} should mention {says}");
    }
}

#[test]
fn token_hashes_parse_only_in_their_one_form() {
    let h = TokenHash::of("pgt_x").to_string();
    let cases = [
        ("as printed", h.clone(), true),
        ("upper-case hex", format!("sha256:{}", h["sha256:".len()..].to_uppercase()), true),
        ("surrounding space", format!(" {h} "), true),
        ("no algorithm", h["sha256:".len()..].to_string(), false),
        ("other algorithm", h.replace("sha256:", "md5:"), false),
        ("short", h[..40].to_string(), false),
        ("a plaintext token", "pgt_x".to_string(), false),
    ];
    for (case, text, ok) in cases {
        assert_eq!(TokenHash::parse(&text).is_ok(), ok, "{case}: {text}");
    }
    assert_eq!(TokenHash::parse(&h).unwrap(), TokenHash::of("pgt_x"));
}

#[test]
fn new_tokens_are_random_url_safe_and_hash_to_what_the_config_holds() {
    let a = new_token().unwrap();
    let b = new_token().unwrap();
    assert_ne!(a, b);
    for t in [&a, &b] {
        assert!(t.starts_with(TOKEN_PREFIX), "{t}");
        assert_eq!(t.len(), TOKEN_PREFIX.len() + 43, "{t}: 32 bytes in base64url");
        assert!(t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'), "{t}");
        assert_eq!(TokenHash::parse(&TokenHash::of(t).to_string()).unwrap(), TokenHash::of(t));
    }
}

#[test]
fn user_names_are_checked() {
    let cases = [
        ("plain", "alice", true),
        ("email-like", "alice.smith@example.org", true),
        ("ci account", "ci-bot_2+x", true),
        ("empty", "", false),
        ("colon cannot go in Basic", "al:ice", false),
        ("space", "al ice", false),
        ("control", "al\nice", false),
        ("too long", &"a".repeat(65), false),
    ];
    for (case, name, ok) in cases {
        assert_eq!(check_user_name(name).is_ok(), ok, "{case}");
    }
}

#[test]
fn retry_after_rounds_up_to_whole_seconds() {
    let cases = [(0, 1), (1, 1), (999, 1), (1000, 1), (1001, 2), (2500, 3)];
    for (ms, want) in cases {
        assert_eq!(secs(Duration::from_millis(ms)), want, "{ms} ms");
    }
}

fn limited(per_user: Limit, per_client: Limit) -> Access {
    let cfg = Config { limits: Limits { per_user, per_client }, ..users() };
    Access::with_slot_wait(cfg, Duration::from_millis(100))
}

#[tokio::test]
async fn the_request_rate_is_a_token_bucket_per_user_and_per_client() {
    let good = basic("alice", ALICE_TOKEN);
    let rate = Limit { rate: Some(Rate { per_second: 1.0, burst: 2 }), concurrent_downloads: None };
    // Per client: the third request in a burst from one address is refused; another address is not.
    let a = limited(Limit::default(), rate);
    let codes: Vec<_> = (0..3).map(|_| a.limiters.check_client_rate("127.0.0.1".parse().unwrap())).collect();
    assert!(codes[0].is_ok() && codes[1].is_ok(), "{codes:?}");
    match &codes[2] {
        Err(r @ Refusal::RateLimited { setting: "limits.per_client", retry_after, .. }) => {
            assert_eq!(r.status(), 429);
            assert!(*retry_after <= Duration::from_secs(1), "{retry_after:?}");
            assert_eq!(r.retry_after(), Some(1));
            assert!(r.to_string().contains("client 127.0.0.1"), "{r}");
        }
        other => panic!("third request in the burst: {other:?}"),
    }
    assert!(a.limiters.check_client_rate("127.0.0.2".parse().unwrap()).is_ok(), "another client has its own bucket");

    // Per user: counted after authentication, whatever the address.
    let a = limited(rate, Limit::default());
    let from =
        |ip: &'static str| Asking { authorization: Some(&good), client: ip.parse().unwrap(), ..asking(None, ip) };
    assert!(a.admit(from("127.0.0.1")).await.is_ok());
    assert!(a.admit(from("127.0.0.2")).await.is_ok());
    let third = a.admit(from("127.0.0.3")).await.unwrap_err();
    assert_eq!(third.code(), "limit:rate");
    assert!(third.to_string().contains("user alice") && third.to_string().contains("limits.per_user"), "{third}");
    // A refused login does not spend the user's tokens, and anonymous requests have no user bucket.
    assert_eq!(a.admit(asking(None, "127.0.0.1")).await.unwrap_err().code(), "auth:required");
}

#[tokio::test]
async fn downloads_in_progress_are_capped_and_slots_come_back() {
    let good = basic("alice", ALICE_TOKEN);
    let one = Limit { rate: None, concurrent_downloads: Some(1) };
    let download = |ip: &'static str| Asking { download: true, ..asking(Some(&good), ip) };
    for (case, a, second_from) in [
        ("per user, across addresses", limited(one, Limit::default()), "127.0.0.2"),
        ("per client", limited(Limit::default(), one), "127.0.0.1"),
    ] {
        let first = a.admit(download("127.0.0.1")).await.unwrap();
        assert!(!first.slots.is_empty(), "{case}");
        let busy = a.admit(download(second_from)).await.unwrap_err();
        assert_eq!((busy.code(), busy.status(), busy.retry_after()), ("limit:downloads", 429, Some(1)), "{case}");
        assert!(
            a.admit(Asking { download: false, ..download(second_from) }).await.is_ok(),
            "{case}: pages are not downloads"
        );
        drop(first);
        assert!(a.admit(download(second_from)).await.is_ok(), "{case}: the slot came back");
    }
    // A waiting download gets the slot as soon as it is released.
    let a = Arc::new(limited(one, Limit::default()));
    let first = a.admit(download("127.0.0.1")).await.unwrap();
    let waiter = tokio::spawn({
        let a = a.clone();
        let good = good.clone();
        async move {
            a.admit(Asking { authorization: Some(&good), download: true, ..asking(None, "127.0.0.1") })
                .await
                .map(|_| ())
        }
    });
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(first);
    assert_eq!(waiter.await.unwrap(), Ok(()));
}

#[test]
fn limiter_state_survives_a_reload_that_keeps_the_limits() {
    let rate = Limit { rate: Some(Rate { per_second: 1.0, burst: 1 }), concurrent_downloads: None };
    let before = limited(Limit::default(), rate);
    assert!(before.limiters.check_client_rate(IpAddr::from([127, 0, 0, 1])).is_ok());
    let same = Access::new(before.config.clone(), Some(&before));
    assert!(same.limiters.check_client_rate(IpAddr::from([127, 0, 0, 1])).is_err(), "same limits: bucket kept");
    let mut changed_cfg = before.config.clone();
    changed_cfg.limits.per_client.rate = Some(Rate { per_second: 2.0, burst: 1 });
    let changed = Access::new(changed_cfg, Some(&before));
    assert!(changed.limiters.check_client_rate(IpAddr::from([127, 0, 0, 1])).is_ok(), "new limits: fresh buckets");
}

#[test]
fn what_a_refused_client_reads() {
    let cases = [
        Refusal::CredentialsRequired,
        Refusal::BadCredentials { user: "alice".into() },
        Refusal::Malformed { why: "scheme \"Bearer\", expected Basic".into() },
        Refusal::PlainHttp,
        Refusal::RateLimited {
            who: "user alice".into(),
            rate: "2.5".into(),
            burst: 3,
            setting: "limits.per_user",
            retry_after: Duration::from_millis(400),
        },
        Refusal::DownloadsBusy {
            who: "client 10.0.0.5".into(),
            max: 8,
            setting: "limits.per_client.concurrent_downloads",
            waited: Duration::from_secs(10),
        },
    ];
    let text: Vec<String> = cases
        .iter()
        .map(|r| {
            let retry = r.retry_after().map(|s| format!(" Retry-After: {s}")).unwrap_or_default();
            format!("{} {}{retry}\n  title:  {}\n  detail: {r}.", r.status(), r.code(), r.title())
        })
        .collect();
    insta::assert_snapshot!(text.join("\n"));
}
