//! XDG locations (config, data, state) for retractor.

use std::path::PathBuf;

use directories::ProjectDirs;

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "retractor")
}

/// `$XDG_CONFIG_HOME/retractor/config.toml`.
pub fn default_config_file() -> PathBuf {
    dirs()
        .map(|d| d.config_dir().join("config.toml"))
        .unwrap_or_else(|| PathBuf::from("retractor.toml"))
}

/// `$XDG_DATA_HOME/retractor/demo`.
pub fn default_demo_dir() -> PathBuf {
    dirs()
        .map(|d| d.data_dir().join("demo"))
        .unwrap_or_else(|| PathBuf::from("retractor-demo"))
}

/// `$XDG_STATE_HOME/retractor/retractor.log`, the debug log.
pub fn log_file() -> PathBuf {
    state_dir().join("retractor.log")
}

/// `$XDG_STATE_HOME/retractor`, where the debug log goes.
pub fn state_dir() -> PathBuf {
    dirs()
        .and_then(|d| d.state_dir().map(|p| p.to_path_buf()))
        .unwrap_or_else(std::env::temp_dir)
        .join("")
}
