//! The token table. Tokens are kept only as SHA-256 digests and compared in constant time, so
//! neither timing nor a memory dump gives one away.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::Role;
use crate::config::AuthSettings;

pub type TokenDigest = [u8; 32];

pub struct Tokens {
    entries: Vec<(TokenDigest, Role)>,
}

pub fn digest(token: &str) -> TokenDigest {
    Sha256::digest(token.as_bytes()).into()
}

impl Tokens {
    /// The configured tokens, plus `generated_admin` when none is configured.
    pub fn new(settings: &AuthSettings, generated_admin: Option<&SecretString>) -> Self {
        let admin = settings.admin_token.iter().chain(generated_admin);
        let entries = admin
            .map(|t| (digest(t.expose_secret()), Role::Admin))
            .chain(
                settings
                    .user_tokens
                    .iter()
                    .map(|t| (digest(t.expose_secret()), Role::User)),
            )
            .collect();
        Self { entries }
    }

    /// The entry a presented token matches: its digest (the session key) and role.
    pub fn find(&self, presented: &str) -> Option<(TokenDigest, Role)> {
        let presented = digest(presented);
        // Look at every entry, whatever matched, so timing says nothing about the table.
        let mut found = None;
        for (known, role) in &self.entries {
            if bool::from(known.ct_eq(&presented)) && found.is_none() {
                found = Some((*known, *role));
            }
        }
        found
    }

    pub fn role_of(&self, presented: &str) -> Option<Role> {
        self.find(presented).map(|(_, role)| role)
    }

    pub fn entries(&self) -> impl Iterator<Item = &(TokenDigest, Role)> {
        self.entries.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_come_from_the_configured_tokens() {
        let settings = AuthSettings {
            admin_token: Some("admin-token-1".into()),
            user_tokens: vec!["user-token-1".into(), "user-token-2".into()],
            ..AuthSettings::default()
        };
        let tokens = Tokens::new(&settings, None);
        assert_eq!(tokens.role_of("admin-token-1"), Some(Role::Admin));
        assert_eq!(tokens.role_of("user-token-2"), Some(Role::User));
        assert_eq!(tokens.role_of("user-token-3"), None);
        assert_eq!(tokens.role_of(""), None);
    }

    #[test]
    fn generated_token_is_an_admin() {
        let generated: SecretString = "generated-admin".into();
        let tokens = Tokens::new(&AuthSettings::default(), Some(&generated));
        assert_eq!(tokens.role_of("generated-admin"), Some(Role::Admin));
    }
}
