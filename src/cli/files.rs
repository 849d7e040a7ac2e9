//! Reading workflow files from the paths a user gave: directories are walked for `*.writ`
//! files, files are size-checked before reading and must be UTF-8.

use std::fs;
use std::path::{Path, PathBuf};

use crate::syntax::MAX_FILE_BYTES;

/// A problem that keeps a path from being checked at all (exit code 2).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("`{path}` is {size} bytes, over the limit of {MAX_FILE_BYTES} bytes (64 MiB)")]
    TooLarge { path: String, size: u64 },
    #[error("`{path}` is not valid UTF-8: invalid byte at offset {offset} (line {line})")]
    InvalidUtf8 {
        path: String,
        offset: usize,
        line: usize,
    },
    #[error("no `.writ` files in directory `{path}`")]
    EmptyDirectory { path: String },
}

/// Expands the given paths: files as given, directories to their `*.writ` files, sorted.
pub fn expand(paths: &[PathBuf]) -> Vec<Result<PathBuf, LoadError>> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => match walk(path) {
                Ok(found) if found.is_empty() => {
                    out.push(Err(LoadError::EmptyDirectory { path: shown(path) }))
                }
                Ok(found) => out.extend(found.into_iter().map(Ok)),
                Err(error) => out.push(Err(error)),
            },
            Ok(_) => out.push(Ok(path.clone())),
            Err(source) => out.push(Err(LoadError::Io {
                path: shown(path),
                source,
            })),
        }
    }
    out
}

/// Every `*.writ` file below `root`, sorted; symbolic links to directories are not followed,
/// so a link cycle cannot make the walk endless.
fn walk(root: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|source| LoadError::Io {
            path: shown(&dir),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| LoadError::Io {
                path: shown(&dir),
                source,
            })?;
            let path = entry.path();
            let kind = entry.file_type().map_err(|source| LoadError::Io {
                path: shown(&path),
                source,
            })?;
            if kind.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "writ") {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Reads one workflow file, refusing oversize files before reading them.
pub fn read(path: &Path) -> Result<String, LoadError> {
    let io = |source| LoadError::Io {
        path: shown(path),
        source,
    };
    let size = fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(LoadError::TooLarge {
            path: shown(path),
            size,
        });
    }
    let bytes = fs::read(path).map_err(|source| LoadError::Io {
        path: shown(path),
        source,
    })?;
    String::from_utf8(bytes).map_err(|error| {
        let offset = error.utf8_error().valid_up_to();
        let line = error
            .as_bytes()
            .iter()
            .take(offset)
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        LoadError::InvalidUtf8 {
            path: shown(path),
            offset,
            line,
        }
    })
}

pub fn shown(path: &Path) -> String {
    path.display().to_string()
}
