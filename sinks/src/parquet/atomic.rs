//! Atomic file replacement: write `<name>.tmp` beside the target, fsync it, rename it over the
//! target and fsync the directory, so readers see either the old file or the whole new one.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use crate::SinkError;

/// The suffix of files being written.
pub const TEMP_SUFFIX: &str = ".tmp";

/// The temporary path `path` is written to before the rename: `<path>.tmp`.
pub fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// Replaces `path` atomically with what `write` writes into a fresh file. `write` returns the
/// file when done (writers that own it hand it back), which is then fsynced and renamed; the
/// temporary file is removed when anything fails.
pub(crate) fn write_atomically<F>(path: &Path, write: F) -> Result<(), SinkError>
where
    F: FnOnce(File) -> Result<File, SinkError>,
{
    let tmp = temp_path(path);
    let result = (|| {
        let file = File::create(&tmp).map_err(SinkError::io(&tmp))?;
        commit(write(file)?, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Makes `file`, written at [`temp_path`]`(path)`, the file at `path`: fsyncs it, renames it
/// over `path` and fsyncs the directory.
pub(crate) fn commit(file: File, path: &Path) -> Result<(), SinkError> {
    file.sync_all().map_err(SinkError::io(&temp_path(path)))?;
    drop(file);
    fs::rename(temp_path(path), path).map_err(SinkError::io(path))?;
    sync_dir(parent_dir(path))
}

/// The directory holding `path` (`.` for a bare file name).
pub(crate) fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsyncs a directory so a rename in it is durable (a no-op where directories cannot be opened).
pub(crate) fn sync_dir(dir: &Path) -> Result<(), SinkError> {
    #[cfg(unix)]
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(SinkError::io(dir))?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Removes the leftover `*.tmp` files of interrupted writes from `dir` and returns how many it
/// removed. A missing directory has none.
pub fn clean_temp_files(dir: &Path) -> Result<usize, SinkError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(SinkError::io(dir)(e)),
    };
    let mut removed = 0;
    for entry in entries {
        let entry = entry.map_err(SinkError::io(dir))?;
        let path = entry.path();
        let is_file = entry.file_type().map_err(SinkError::io(&path))?.is_file();
        let is_temp = entry.file_name().to_string_lossy().ends_with(TEMP_SUFFIX);
        if is_file && is_temp {
            fs::remove_file(&path).map_err(SinkError::io(&path))?;
            removed += 1;
        }
    }
    Ok(removed)
}
