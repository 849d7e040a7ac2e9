//! Where a request goes: the system's base URL joined with a step's relative URL, which must
//! stay under it.

use super::ConnectorError;

/// `base_url` (an `http://` or `https://` URL with no query, fragment or credentials) joined
/// with `relative`,
/// which must be a path under it: starting with one `/`, no `.`/`..` segment (also
/// percent-encoded), no empty segment but a trailing one, no backslash, space or control
/// character, no fragment.
pub fn join(base_url: &str, relative: &str) -> Result<String, ConnectorError> {
    let (scheme, authority, base_path) = base(base_url)?;
    check_relative(relative)?;
    Ok(format!("{scheme}://{authority}{base_path}{relative}"))
}

fn refuse<T>(url: &str, reason: &'static str) -> Result<T, ConnectorError> {
    Err(ConnectorError::HttpUrl {
        url: url.to_owned(),
        reason,
    })
}

/// The scheme, authority and path (without a trailing `/`) of a base URL, or why it cannot be
/// one.
pub fn base(base_url: &str) -> Result<(&'static str, &str, &str), ConnectorError> {
    let lower = base_url.to_ascii_lowercase();
    let scheme = if lower.starts_with("https://") {
        "https"
    } else if lower.starts_with("http://") {
        "http"
    } else {
        return refuse(
            base_url,
            "the base URL must start with `https://` or `http://`",
        );
    };
    let Some(rest) = base_url.get(scheme.len() + "://".len()..) else {
        return refuse(base_url, "the base URL has no host");
    };
    let (authority, base_path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.is_empty() {
        return refuse(base_url, "the base URL has no host");
    }
    if authority.contains('@') {
        // Do not echo it: it may hold a password.
        return refuse(
            "(base URL withheld)",
            "the base URL must not hold credentials; use `auth`",
        );
    }
    if base_url.contains(['?', '#', '\\']) || base_url.chars().any(char::is_whitespace) {
        return refuse(
            base_url,
            "the base URL must not hold a query, fragment, backslash or space",
        );
    }
    let base_path = base_path.trim_end_matches('/');
    if base_path.contains("//") {
        return refuse(base_url, "the base URL's path has an empty segment (`//`)");
    }
    Ok((scheme, authority, base_path))
}

/// Refuses a relative URL that could leave the base URL's path or smuggle anything in.
fn check_relative(relative: &str) -> Result<(), ConnectorError> {
    if !relative.starts_with('/') {
        return refuse(
            relative,
            "the URL must be a path starting with `/`, relative to the system's base URL",
        );
    }
    if relative
        .chars()
        .any(|c| c.is_whitespace() || c.is_control())
    {
        return refuse(
            relative,
            "the URL must not hold spaces or control characters",
        );
    }
    if relative.contains(['\\', '#']) {
        return refuse(
            relative,
            "the URL must not hold a backslash or a fragment (`#`)",
        );
    }
    let path = relative.split('?').next().unwrap_or_default();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, segment) in segments.iter().enumerate() {
        if segment.is_empty() && i != last {
            return refuse(relative, "the URL has an empty path segment (`//`)");
        }
        let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
        if decoded == "." || decoded == ".." {
            return refuse(
                relative,
                "the URL must not hold `.` or `..` segments (it must stay under the base URL)",
            );
        }
        if decoded.contains("%2f") || decoded.contains("%5c") {
            return refuse(relative, "the URL must not hold an encoded `/` or `\\`");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_without_double_slashes() {
        let ok = |base: &str, rel: &str| join(base, rel).expect("joins");
        assert_eq!(ok("http://h:8/api/", "/t/1"), "http://h:8/api/t/1");
        assert_eq!(ok("http://h:8/api", "/t?x=1"), "http://h:8/api/t?x=1");
        assert_eq!(ok("http://h", "/"), "http://h/");
        assert_eq!(ok("HTTP://h/", "/a/"), "http://h/a/");
        assert_eq!(ok("https://h/api", "/a"), "https://h/api/a");
    }

    #[test]
    fn refuses_urls_that_leave_the_base() {
        for rel in [
            "http://evil/x",
            "//evil/x",
            "t",
            "/a/../b",
            "/..",
            "/a/%2E%2e/b",
            "/a/./b",
            "/a//b",
            "/a\\b",
            "/a%2fb",
            "/a b",
            "/a#f",
        ] {
            assert!(join("http://h/api", rel).is_err(), "{rel}");
        }
        for base in [
            "https://",
            "ftp://h",
            "http://",
            "http://u:p@h",
            "http://h?q",
        ] {
            assert!(join(base, "/t").is_err(), "{base}");
        }
        let withheld = join("http://u:secret@h", "/t").expect_err("refused");
        assert!(!withheld.to_string().contains("secret"));
    }
}
