//! The binary's commands besides serving: `yueen token new --name 张三 [--role user|admin]`
//! prints a fresh token once, with the configuration entry that lets its user in (the token
//! only as its SHA-256, so the file holds no secret).

use std::process::ExitCode;

use crate::{auth::tokens::new_token, model::Role};

const USAGE: &str = "用法:
  yueen                                      启动服务
  yueen token new --name <用户名> [--role user|admin]
                                             生成一个新令牌，并给出加入配置文件的条目";

/// Runs the command `args` (without the program name) names; `None` when there is none and
/// the server should start.
pub fn run(args: &[String]) -> Option<ExitCode> {
    let first = args.first()?;
    Some(match (first.as_str(), args.get(1).map(String::as_str)) {
        ("token", Some("new")) => token_new(&args[2..]),
        ("-h" | "--help" | "help", _) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("无法识别的命令: {}\n{USAGE}", args.join(" "));
            ExitCode::from(2)
        }
    })
}

fn token_new(args: &[String]) -> ExitCode {
    let mut name = None;
    let mut role = Role::User;
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        match (arg.as_str(), args.next().map(String::as_str)) {
            ("--name", Some(value)) if !value.trim().is_empty() => name = Some(value.trim()),
            ("--role", Some("user")) => role = Role::User,
            ("--role", Some("admin")) => role = Role::Admin,
            _ => {
                eprintln!("参数有误: {arg}\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(name) = name else {
        eprintln!("请用 --name 指定用户名\n{USAGE}");
        return ExitCode::from(2);
    };
    let (token, entry) = new_token(name, role);
    println!(
        "为“{name}”生成的新令牌（只显示这一次，请交给本人妥善保存）:\n  {token}\n\n把下面几行加入配置文件（Leptos.toml 或 YUEEN_CONFIG 指定的文件）后重启服务:\n\n{entry}"
    );
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn serving_is_the_default_and_bad_commands_fail() {
        assert!(run(&[]).is_none());
        assert_eq!(
            run(&args(&["token", "new", "--name", "张三"])),
            Some(ExitCode::SUCCESS)
        );
        assert_eq!(run(&args(&["token", "new"])), Some(ExitCode::from(2)));
        assert_eq!(
            run(&args(&["token", "new", "--name", "张三", "--role", "root"])),
            Some(ExitCode::from(2))
        );
        assert_eq!(run(&args(&["serve"])), Some(ExitCode::from(2)));
    }
}
