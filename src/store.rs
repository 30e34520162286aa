//! Proxy core (issue 3): being written.
