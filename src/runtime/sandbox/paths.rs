//! Which paths a program is granted. Landlock rules only allow, so "a folder but for these
//! paths inside it" is granted as the folder's other entries, descending only into the folders
//! on the way to what stays hidden.

use std::path::{Path, PathBuf};

use super::Protected;

/// System folders programs may read and execute (those that exist).
const SYSTEM_FOLDERS: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/opt",
    // /etc/resolv.conf often points here (systemd-resolved): name resolution needs it.
    "/run/systemd/resolve",
];

/// What of `/proc` programs may read: their own process (`/proc/self`, resolved when the
/// confiner opens it, which is the program's own folder since it becomes the program) and
/// a few files about the machine. Not `/proc` itself: the kernel lets a process of the same
/// user (root especially) read another's `/proc/PID/environ`, writ's included, even with
/// Landlock in force, so the other processes' folders stay out of reach.
pub const PROC_READS: &[&str] = &[
    "/proc/self",
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/version",
    "/proc/filesystems",
];

/// Devices programs may read (and write, for `/dev/null`).
pub const DEVICES: &[&str] = &["/dev/null", "/dev/zero", "/dev/random", "/dev/urandom"];

/// What `/etc` keeps hidden: password hashes, host keys, sudo rules, private TLS keys.
const ETC_HIDDEN: &[&str] = &[
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssh",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssl/private",
    "/etc/writ",
];

/// An absolute path with symlinks resolved where it exists (the path as given otherwise), so
/// a rule and a protected path compare as the kernel sees them.
pub fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf()))
}

/// The system paths every program may read, minus what `/etc` and `protected` hide.
pub fn system_reads(protected: &Protected) -> Vec<PathBuf> {
    let mut hidden = protected.clone();
    hidden.0.extend(ETC_HIDDEN.iter().map(PathBuf::from));
    let mut granted = Vec::new();
    for folder in SYSTEM_FOLDERS.iter().chain(std::iter::once(&"/etc")) {
        granted.extend(granted_reads(Path::new(folder), &hidden));
    }
    granted
}

/// `root` (canonicalised) minus every protected path inside it; nothing when `root` is itself
/// protected or inside a protected folder, or does not exist.
pub fn granted_reads(root: &Path, protected: &Protected) -> Vec<PathBuf> {
    let root = canonical(root);
    let mut granted = Vec::new();
    grant(&root, protected, &mut granted, 0);
    granted
}

/// How deep the walk goes towards a protected path before it stops granting (a pathological
/// tree cannot make it run long; past this depth the folder is left out entirely).
const MAX_DEPTH: usize = 32;

fn grant(path: &Path, protected: &Protected, granted: &mut Vec<PathBuf>, depth: usize) {
    if protected.0.iter().any(|p| path.starts_with(p)) || !path.exists() {
        return;
    }
    let inside = protected.0.iter().any(|p| p.starts_with(path) && p != path);
    if !inside {
        granted.push(path.to_path_buf());
        return;
    }
    if depth >= MAX_DEPTH || !path.is_dir() {
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else {
        return;
    };
    for entry in entries.flatten() {
        // A symlink is left out: a rule on it would grant its target, wherever that is (a
        // folder granted whole grants only what lies inside it, as the kernel resolves it).
        if entry.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        grant(&entry.path(), protected, granted, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_protected_folder_inside_a_granted_one_is_left_out() {
        let dir = std::env::temp_dir().join(format!("writ-paths-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join(".writ")).expect("dir");
        std::fs::create_dir_all(dir.join("scripts")).expect("dir");
        std::fs::write(dir.join("writ.yaml"), "").expect("file");
        std::fs::write(dir.join("a.writ"), "").expect("file");
        let protected = Protected::new(&dir.join(".writ/state.db"), &dir.join("writ.yaml"));
        let mut granted = granted_reads(&dir, &protected);
        granted.sort();
        let dir = canonical(&dir);
        assert_eq!(granted, vec![dir.join("a.writ"), dir.join("scripts")]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
