//! The users and their tokens. Tokens are kept only as SHA-256 digests and compared in constant
//! time, so neither timing nor a memory dump gives one away. Every token belongs to a named
//! user — the named users of the configuration file, `ADMIN_TOKEN` as 管理员, each of
//! `USER_TOKENS` by the name it is written with (`name:token`), a bare one by its position
//! (用户1, 用户2, …) — and logs, the dashboard and the metrics show only names. What a user
//! owns (plans, usage, sessions) is kept under that name.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::Role;
use crate::config::{AuthSettings, LimitSettings, ADMIN_NAME};

pub type TokenDigest = [u8; 32];

/// Who a token belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: Arc<str>,
    pub role: Role,
    /// The user's own limits; the `[limits]` defaults apply where these are unset.
    pub limits: LimitSettings,
}

pub struct Tokens {
    entries: Vec<(TokenDigest, Arc<User>)>,
}

pub use crate::config::token_digest as digest;

impl Tokens {
    /// The configured users, plus `generated_admin` when none is configured.
    pub fn new(settings: &AuthSettings, generated_admin: Option<&SecretString>) -> Self {
        let user = |name: &str, role, limits| {
            Arc::new(User {
                name: Arc::from(name),
                role,
                limits,
            })
        };
        let admin = user(ADMIN_NAME, Role::Admin, LimitSettings::default());
        let mut entries: Vec<_> = settings
            .admin_token
            .iter()
            .chain(generated_admin)
            .map(|t| (digest(t.expose_secret()), admin.clone()))
            .collect();
        entries.extend(settings.user_token_names().zip(&settings.user_tokens).map(
            |(name, entry)| {
                (
                    digest(entry.token.expose_secret()),
                    user(&name, Role::User, LimitSettings::default()),
                )
            },
        ));
        entries.extend(
            settings
                .users
                .iter()
                .map(|u| (u.token_sha256, user(&u.name, u.role, u.limits))),
        );
        Self { entries }
    }

    /// The entry a presented token matches: its digest (the session key) and user.
    pub fn find(&self, presented: &str) -> Option<(TokenDigest, Arc<User>)> {
        let presented = digest(presented);
        // Look at every entry, whatever matched, so timing says nothing about the table.
        let mut found = None;
        for (known, user) in &self.entries {
            if bool::from(known.ct_eq(&presented)) && found.is_none() {
                found = Some((*known, user.clone()));
            }
        }
        found
    }

    pub fn user_of(&self, presented: &str) -> Option<Arc<User>> {
        self.find(presented).map(|(_, user)| user)
    }

    pub fn entries(&self) -> impl Iterator<Item = &(TokenDigest, Arc<User>)> {
        self.entries.iter()
    }

    /// The user called `name`, while one is configured.
    pub fn user_named(&self, name: &str) -> Option<Arc<User>> {
        self.entries
            .iter()
            .find(|(_, user)| &*user.name == name)
            .map(|(_, user)| user.clone())
    }

    /// Every user once, in configuration order.
    pub fn users(&self) -> Vec<Arc<User>> {
        let mut users: Vec<Arc<User>> = Vec::new();
        for (_, user) in &self.entries {
            if !users.iter().any(|u| u.name == user.name) {
                users.push(user.clone());
            }
        }
        users
    }
}

/// A new random token: 192 bits as 48 hex digits.
pub fn random_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// A new random token, and the configuration entry that lets `name` use it.
pub fn new_token(name: &str, role: Role) -> (String, String) {
    let token = random_token();
    let role = match role {
        Role::Admin => "admin",
        Role::User => "user",
    };
    let entry = format!(
        "[[auth.users]]\nname = {}\nrole = \"{role}\"\ntoken_sha256 = \"{}\"\n",
        toml_string(name),
        hex::encode(digest(&token))
    );
    (token, entry)
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    let mut out = String::from('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Settings, UserSettings};

    #[test]
    fn every_token_belongs_to_a_named_user() {
        let settings = AuthSettings {
            admin_token: Some("admin-token-1".into()),
            user_tokens: vec!["user-token-1".into(), "李四:user-token-2".into()],
            users: vec![UserSettings {
                name: "张三".into(),
                role: Role::User,
                token_sha256: digest("zhang-san-token"),
                limits: LimitSettings {
                    tokens_per_day: Some(1000),
                    ..LimitSettings::default()
                },
            }],
            ..AuthSettings::default()
        };
        let tokens = Tokens::new(&settings, None);
        let name = |t: &str| tokens.user_of(t).map(|u| u.name.to_string());
        assert_eq!(name("admin-token-1").as_deref(), Some("管理员"));
        assert_eq!(name("user-token-1").as_deref(), Some("用户1"));
        assert_eq!(name("user-token-2").as_deref(), Some("李四"));
        assert_eq!(name("zhang-san-token").as_deref(), Some("张三"));
        assert_eq!(
            tokens
                .user_of("zhang-san-token")
                .unwrap()
                .limits
                .tokens_per_day,
            Some(1000)
        );
        assert_eq!(tokens.user_of("user-token-3"), None);
        assert_eq!(tokens.user_of(""), None);
        assert_eq!(tokens.users().len(), 4);
    }

    #[test]
    fn generated_token_is_an_admin() {
        let generated = SecretString::from("generated-admin-token-xyz");
        let tokens = Tokens::new(&AuthSettings::default(), Some(&generated));
        assert_eq!(
            tokens.user_of("generated-admin-token-xyz").unwrap().role,
            Role::Admin
        );
    }

    #[test]
    fn a_new_token_comes_with_the_entry_that_lets_it_in() {
        let (token, entry) = new_token("张\"三", Role::User);
        assert_eq!(token.len(), 48);
        assert!(!entry.contains(&token));
        let settings = Settings::from_sources(
            Some(("Leptos.toml", &entry)),
            &std::collections::HashMap::new(),
        )
        .unwrap();
        let tokens = Tokens::new(&settings.auth, None);
        assert_eq!(&*tokens.user_of(&token).unwrap().name, "张\"三");
    }
}
