//! What an https system is trusted by: the machine's CA store plus the system's `ca_file`.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

/// The largest `ca_file` read.
const MAX_CA_FILE_BYTES: u64 = 4 << 20;

/// The machine's trusted roots, read once per process (the store holds hundreds of files).
fn native_roots() -> &'static [Certificate<'static>] {
    static ROOTS: OnceLock<Vec<Certificate<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .collect()
    })
}

/// The TLS config of one system: the machine's roots (Mozilla's when the machine has none)
/// and the certificates of `ca_file`, which must hold at least one.
pub fn config(ca_file: Option<&Path>) -> Result<TlsConfig, String> {
    let native = native_roots();
    let roots = match ca_file {
        None if native.is_empty() => RootCerts::WebPki,
        None => RootCerts::Specific(Arc::new(native.to_vec())),
        Some(path) => {
            let mut certs = read_pem(path)?;
            certs.extend(native.iter().cloned());
            RootCerts::Specific(Arc::new(certs))
        }
    };
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(roots)
        .build())
}

fn read_pem(path: &Path) -> Result<Vec<Certificate<'static>>, String> {
    let shown = path.display();
    let mut bytes = Vec::new();
    let file =
        std::fs::File::open(path).map_err(|e| format!("cannot read `ca_file` `{shown}`: {e}"))?;
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_CA_FILE_BYTES),
        &mut bytes,
    )
    .map_err(|e| format!("cannot read `ca_file` `{shown}`: {e}"))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&bytes) {
        match item {
            Ok(PemItem::Certificate(cert)) => certs.push(cert),
            Ok(_) => {}
            Err(e) => return Err(format!("`ca_file` `{shown}` is not PEM: {e}")),
        }
    }
    if certs.is_empty() {
        return Err(format!("`ca_file` `{shown}` holds no PEM certificate"));
    }
    Ok(certs)
}
