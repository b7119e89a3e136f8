//! The admin token made up at startup when no user at all is configured, and how the operator
//! gets it without it reaching a log: printed when stdout is a terminal (someone is there to
//! read it), otherwise written to a file only its owner can read (under a service manager,
//! stdout goes to the journal, which keeps it), whose path is logged.

use std::{io::IsTerminal, path::Path};

use secrecy::{ExposeSecret, SecretString};

/// The file under `DATA_DIR` that holds the token when it is not printed.
pub const FILE_NAME: &str = "admin-token";

/// A new random admin token for this run.
pub fn new_token() -> SecretString {
    SecretString::from(super::tokens::random_token())
}

/// Hands `token` to the operator: on the terminal, or in `data_dir/admin-token`.
pub fn announce(token: &SecretString, base: &str, data_dir: &Path) {
    if std::io::stdout().is_terminal() {
        println!(
            "\n未配置访问令牌，已生成本次运行的管理员令牌（仅显示这一次）:\n  {}\n登录链接: {base}/login?token={}\n",
            token.expose_secret(),
            token.expose_secret()
        );
        return;
    }
    let path = data_dir.join(FILE_NAME);
    match write_private(&path, token.expose_secret()) {
        Ok(()) => tracing::warn!(
            "未配置任何用户，已生成本次运行的管理员令牌，保存在 {}（仅本机该用户可读）；登录链接为 {base}/login?token=<该文件中的令牌>。长期使用请配置 ADMIN_TOKEN 或用户",
            path.display()
        ),
        Err(e) => tracing::error!(
            "未配置任何用户，已生成本次运行的管理员令牌，但无法写入 {}: {e}；请配置 ADMIN_TOKEN 或用户",
            path.display()
        ),
    }
}

/// Writes `text` to a new file at `path` that only its owner can read. Whatever was there is
/// removed first, so a file (or a link) someone else prepared is never written through.
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(format!("{text}\n").as_bytes())?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_is_the_owners_alone_and_replaces_what_was_there() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("data").join(FILE_NAME);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        write_private(&path, "new-token").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "new-token\n");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
