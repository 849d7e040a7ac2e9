//! Reading a system's secret (from the environment or a file) into the header it sends.

use std::path::Path;

use super::{Auth, ConfigError, Credential, Secret};

/// The longest secret file read: a token or password is far shorter.
const MAX_SECRET_BYTES: u64 = 64 * 1024;

/// `auth` with its files resolved against the config's folder.
pub fn resolve(folder: &Path, auth: Auth) -> Auth {
    let file = |secret: Secret| match secret {
        Secret::File(path) => Secret::File(folder.join(path)),
        env @ Secret::Env(_) => env,
    };
    match auth {
        Auth::Bearer(secret) => Auth::Bearer(file(secret)),
        Auth::Scheme { scheme, secret } => Auth::Scheme {
            scheme,
            secret: file(secret),
        },
        Auth::Header { header, secret } => Auth::Header {
            header,
            secret: file(secret),
        },
        Auth::Basic { user, password } => Auth::Basic {
            user,
            password: file(password),
        },
    }
}

/// The header `auth` sends for `system`, its secret read now.
pub fn read(system: &str, auth: &Auth) -> Result<Credential, ConfigError> {
    let authorization = "Authorization".to_owned();
    Ok(match auth {
        Auth::Bearer(secret) => {
            let secret = secret_of(system, secret)?;
            Credential {
                header: authorization,
                value: format!("Bearer {secret}"),
                secret,
            }
        }
        Auth::Scheme { scheme, secret } => {
            let secret = secret_of(system, secret)?;
            Credential {
                header: authorization,
                value: format!("{scheme} {secret}"),
                secret,
            }
        }
        Auth::Header { header, secret } => {
            let secret = secret_of(system, secret)?;
            Credential {
                header: header.clone(),
                value: secret.clone(),
                secret,
            }
        }
        Auth::Basic { user, password } => {
            let secret = secret_of(system, password)?;
            Credential {
                header: authorization,
                value: format!("Basic {}", base64(format!("{user}:{secret}").as_bytes())),
                secret,
            }
        }
    })
}

/// The secret itself: a non-empty variable, or a file's text without its final line break.
fn secret_of(system: &str, secret: &Secret) -> Result<String, ConfigError> {
    match secret {
        Secret::Env(var) => match std::env::var(var) {
            Ok(token) if !token.is_empty() => Ok(token),
            Ok(_) | Err(std::env::VarError::NotPresent) => Err(ConfigError::TokenMissing {
                system: system.to_owned(),
                var: var.clone(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(ConfigError::TokenNotUnicode {
                system: system.to_owned(),
                var: var.clone(),
            }),
        },
        Secret::File(path) => {
            let failed = |reason: &str| ConfigError::SecretFile {
                system: system.to_owned(),
                path: path.clone(),
                reason: reason.to_owned(),
            };
            let mut bytes = Vec::new();
            let file = std::fs::File::open(path).map_err(|e| failed(&e.to_string()))?;
            std::io::Read::read_to_end(
                &mut std::io::Read::take(file, MAX_SECRET_BYTES),
                &mut bytes,
            )
            .map_err(|e| failed(&e.to_string()))?;
            let text = String::from_utf8(bytes).map_err(|_| failed("it is not UTF-8"))?;
            let text = text.strip_suffix('\n').unwrap_or(&text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            if text.is_empty() {
                return Err(failed("it is empty"));
            }
            Ok(text.to_owned())
        }
    }
}

/// Standard base64 with padding (RFC 4648): a dozen lines, not worth a dependency.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk.first().copied().unwrap_or(0),
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let index = ((n >> (18 - 6 * i)) & 63) as usize;
                out.push(char::from(ALPHABET.get(index).copied().unwrap_or(b'=')));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::base64;

    #[test]
    fn base64_as_rfc_4648() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(
            base64(b"Aladdin:open sesame"),
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ=="
        );
    }
}
