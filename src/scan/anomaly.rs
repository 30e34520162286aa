//! The engine's own findings: what is wrong with the archive itself rather than
//! with the code inside it (unreadable, path traversal, links, bombs, limits,
//! native code in an sdist, metadata that disagrees with the filename, binary members
//! that carry something else: see [`super::carrier`]; pickle streams that call code or are broken:
//! see [`super::pickle`]).
//!
//! Owns: the `&'static` [`DetectorMeta`] of each engine finding and the list of
//! them for [`crate::scan::catalog`]. Must not: walk archives or decide anything;
//! the walker and the engine report under these metas.

use super::detector::DetectorMeta;
use crate::model::{Category, Severity};

macro_rules! meta {
    ($name:ident, $id:literal, $cat:ident, $sev:ident, $title:literal, $desc:literal) => {
        pub(crate) static $name: DetectorMeta = DetectorMeta {
            id: $id,
            revision: super::ENGINE_REVISION,
            title: $title,
            category: Category::$cat,
            severity: Severity::$sev,
            description: $desc,
        };
    };
}

meta!(UNREADABLE, "anomaly.unreadable-archive", Anomaly, High,
    "Artifact is unreadable.",
    "The archive, or a member of it, could not be read. What could not be read was not scanned, so the artifact is not known to be clean.");
meta!(NESTED_UNREADABLE, "anomaly.nested-archive-unreadable", Anomaly, Medium,
    "Contains a nested archive that could not be read.",
    "A member named and shaped like an archive (a vendored wheel, a test fixture) could not be opened, or one of its own members could not be read whole (encrypted, or inflating past the ratio limit), so that part was not scanned. The artifact itself was read and scanned: pip never unpacks a member of a member.");
meta!(PATH_TRAVERSAL, "anomaly.path-traversal", Anomaly, High,
    "Contains members with absolute or parent-directory paths.",
    "A member name that is absolute or contains `..` can write outside the install directory when the archive is unpacked.");
meta!(LINK, "anomaly.tar-link", Anomaly, Medium,
    "Contains symbolic or hard link members.",
    "Links inside a distribution are not needed to install Python code and can redirect writes or reads to files outside the package.");
meta!(DUPLICATE, "anomaly.duplicate-member", Anomaly, High,
    "Contains duplicate member names.",
    "Two members with the same name let a scanner and an installer see different content: one reads the first, the other writes the last.");
meta!(NON_UTF8, "anomaly.non-utf8-name", Anomaly, Low,
    "Contains member names that are not UTF-8.",
    "Member names that are not valid UTF-8 are decoded differently by different tools, which can hide a file from review.");
meta!(CONTROL_NAME, "anomaly.control-char-name", Anomaly, High,
    "Contains member names with control characters.",
    "A newline, carriage return or escape sequence in a member name rewrites what a terminal, a log or a review tool shows, and can hide or disguise a file.");
meta!(HEADER_MISMATCH, "anomaly.header-mismatch", Anomaly, High,
    "Contains members whose local and central zip headers disagree.",
    "A zip names each member twice, in its local header and in the central directory. When the two differ, tools that read one or the other see different files.");
meta!(
    ENCRYPTED,
    "anomaly.encrypted-member",
    Anomaly,
    High,
    "Contains encrypted members.",
    "Encrypted members cannot be scanned and have no place in a distribution that pip or uv installs."
);
meta!(
    CRC,
    "anomaly.crc-mismatch",
    Anomaly,
    High,
    "Contains members whose checksum does not match.",
    "A CRC mismatch means the member was altered after the archive was written, or the archive is corrupt."
);
meta!(BOMB, "anomaly.archive-bomb", Anomaly, High,
    "Looks like a decompression bomb.",
    "A member or stream inflates far beyond its compressed size; the scanner stopped inflating it at the configured ratio limit.");
meta!(LIMIT, "anomaly.limit-exceeded", Anomaly, Medium,
    "Exceeds a scan limit; part of the artifact was not scanned.",
    "The artifact has more members, bigger members or more content than the scanner's limits allow; what lies beyond the limit was not scanned.");
meta!(TRAILING_DATA, "anomaly.trailing-data", Anomaly, High,
    "Has data after the end of its tar archive.",
    "A tar archive ends with zero blocks; non-zero data after them is not a member, was not scanned, and has no place in a distribution (a tool that reads past the end marker would see content the scanner did not).");
meta!(
    NESTING,
    "anomaly.nesting-too-deep",
    Anomaly,
    Medium,
    "Contains archives nested deeper than the scan limit.",
    "Archives inside archives are scanned to a fixed depth; deeper ones were not scanned."
);
meta!(NATIVE_IN_SDIST, "anomaly.native-binary-in-sdist", Anomaly, High,
    "Source distribution contains native binaries.",
    "An sdist should hold source. Prebuilt ELF, Mach-O or PE files in it are not reviewable and may be loaded at build or run time.");
meta!(FILENAME_MISMATCH, "metadata.filename-mismatch", Metadata, High,
    "Metadata name or version disagrees with the filename.",
    "The wheel's `.dist-info/METADATA` names a different project or version than its filename, so the index entry does not describe what installs.");

meta!(DISGUISED_BYTECODE, "obfuscation.disguised-bytecode", Obfuscation, High,
    "Contains a .pyc file that is not bytecode.",
    "A member named like compiled Python whose bytes are an archive, an executable or a script carries a payload past reviewers and source scanners; something in the package must unpack or run it on purpose.");
meta!(APPENDED_PAYLOAD, "obfuscation.appended-payload", Obfuscation, High,
    "Contains an image with a payload appended after its end.",
    "A script, archive or executable appended after an image's end marker is invisible when the image is shown and is read back by code that seeks past the end: a common way to smuggle a second stage.");

meta!(PICKLE_CODE, "execution.pickle-code", Execution, High,
    "Contains a pickle stream that imports and calls code when it is loaded.",
    "Loading a pickle (pickle.load, torch.load, joblib.load, numpy.load with allow_pickle) imports every callable the stream names and calls it: a stream that names os.system, subprocess, exec, runpy, socket or ctypes runs a command or code on the machine that loads it. Model and data files need only reconstructors (OrderedDict, numpy's _reconstruct, torch's _rebuild_tensor_v2); the evidence names each callable with the member and the byte it is imported at.");
meta!(PICKLE_MALFORMED, "anomaly.malformed-pickle", Anomaly, Medium,
    "Contains a pickle stream that is broken.",
    "A pickle loader runs each opcode as it reads it, so a stream that breaks after its payload has still run the payload, while a scanner that gives up on a broken stream sees nothing (the nullifAI models). The evidence says where and why the stream stops being valid.");

/// Every engine finding, in catalog order.
pub(crate) fn catalog() -> Vec<&'static DetectorMeta> {
    vec![
        &UNREADABLE,
        &PATH_TRAVERSAL,
        &LINK,
        &DUPLICATE,
        &NON_UTF8,
        &CONTROL_NAME,
        &HEADER_MISMATCH,
        &ENCRYPTED,
        &CRC,
        &BOMB,
        &LIMIT,
        &TRAILING_DATA,
        &NESTING,
        &NESTED_UNREADABLE,
        &NATIVE_IN_SDIST,
        &FILENAME_MISMATCH,
        &DISGUISED_BYTECODE,
        &APPENDED_PAYLOAD,
        &PICKLE_CODE,
        &PICKLE_MALFORMED,
    ]
}
