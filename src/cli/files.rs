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
    #[error("cannot walk `{path}`: {message}")]
    Walk { path: String, message: String },
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

/// Expands the given paths as `writ lint` and `writ fmt` do: files as given; directories to
/// their `*.writ` files, sorted, skipping what `.gitignore` (and `.ignore`) files and hidden
/// folders exclude, as git would, also outside a git repository. Links are not followed.
pub fn expand_ignoring(paths: &[PathBuf]) -> Vec<Result<PathBuf, LoadError>> {
    let mut out = Vec::new();
    for path in paths {
        match fs::metadata(path) {
            Ok(meta) if meta.is_dir() => {
                let before = out.len();
                let mut found = Vec::new();
                let walk = ignore::WalkBuilder::new(path).require_git(false).build();
                for entry in walk {
                    match entry {
                        Ok(entry) => {
                            let is_file = entry.file_type().is_some_and(|t| t.is_file());
                            let is_writ = entry.path().extension().is_some_and(|e| e == "writ");
                            if is_file && is_writ {
                                found.push(entry.into_path());
                            }
                        }
                        Err(error) => out.push(Err(LoadError::Walk {
                            path: shown(path),
                            message: error.to_string(),
                        })),
                    }
                }
                found.sort();
                if found.is_empty() && out.len() == before {
                    out.push(Err(LoadError::EmptyDirectory { path: shown(path) }));
                }
                out.extend(found.into_iter().map(Ok));
            }
            Ok(_) => out.push(Ok(path.clone())),
            Err(source) => out.push(Err(LoadError::Io {
                path: shown(path),
                source,
            })),
        }
    }
    out
}

/// Runs `work` on every item on all cores; the results keep the order of the items, so the
/// output is the same whatever the scheduling. `done` is called after each item (progress).
pub fn parallel_map<T: Send, R: Send>(
    items: Vec<T>,
    work: impl Fn(T) -> R + Sync,
    done: &(dyn Fn() + Sync),
) -> Vec<R> {
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if workers <= 1 {
        return items
            .into_iter()
            .map(|item| {
                let result = work(item);
                done();
                result
            })
            .collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let slots: Vec<std::sync::Mutex<Option<T>>> = items
        .into_iter()
        .map(|item| std::sync::Mutex::new(Some(item)))
        .collect();
    let mut finished: Vec<(usize, R)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(slot) = slots.get(index) else { break };
                        let item = slot.lock().ok().and_then(|mut taken| taken.take());
                        if let Some(item) = item {
                            mine.push((index, work(item)));
                            done();
                        }
                    }
                    mine
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|handle| handle.join().unwrap_or_default())
            .collect()
    });
    finished.sort_by_key(|(index, _)| *index);
    finished.into_iter().map(|(_, result)| result).collect()
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
