//! The layers a setting can come from, and the name an operator knows each key by.
//!
//! The config file is TOML with the tree's own keys (`[ai] max_retries = 3`); the environment
//! (with `.env` loaded into it) uses the README's variable names, which each setting names
//! where it is defined (`section!`). An error is reported under the name of the layer that supplied the bad value.

use std::collections::HashMap;

use super::settings;
use figment::{
    providers::{Format, Toml},
    value::{Dict, Map, Value},
    Error, Metadata, Profile, Provider,
};

const ENV_LAYER: &str = "环境变量";

/// Whether `key`'s value is never quoted in a message.
pub fn is_secret(key: &str) -> bool {
    settings().any(|s| s.secret && s.key == key)
}

/// The config file's values, named after the file.
pub struct FileLayer {
    pub path: String,
    pub text: String,
}

impl Provider for FileLayer {
    fn metadata(&self) -> Metadata {
        Metadata::named(self.path.clone())
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        Toml::string(&self.text).data()
    }
}

/// The environment's values for every setting, as text; blank values count as unset.
pub struct EnvLayer<'a>(pub &'a HashMap<String, String>);

impl Provider for EnvLayer<'_> {
    fn metadata(&self) -> Metadata {
        Metadata::named(ENV_LAYER)
    }

    fn data(&self) -> Result<Map<Profile, Dict>, Error> {
        let mut root = Dict::new();
        for setting in settings() {
            let key = setting.key;
            let Some(value) = self
                .0
                .get(setting.env)
                .map(|v| v.trim())
                .filter(|v| !v.is_empty())
            else {
                continue;
            };
            let (table, field) = key.split_once('.').unwrap_or(("", key));
            if let Value::Dict(_, dict) = root
                .entry(table.to_owned())
                .or_insert_with(|| Value::from(Dict::new()))
            {
                dict.insert(field.to_owned(), Value::from(value.to_owned()));
            }
        }
        Ok(Profile::Default.collect(root))
    }
}

/// What an operator would change: the variable when the environment gave the value, else the
/// file key.
pub fn key_name(key: &str, metadata: Option<&Metadata>) -> String {
    match settings().find(|s| s.key == key) {
        Some(s) if metadata.is_some_and(|m| m.name == ENV_LAYER) => s.env.to_owned(),
        _ => key.to_owned(),
    }
}

/// The line of `key` (`table.field`) in the file, if it is written there.
pub fn line_of(text: &str, key: &str) -> Option<usize> {
    let (table, field) = key.split_once('.')?;
    let mut current = "";
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = header.trim();
            continue;
        }
        let Some((name, _)) = line.split_once('=') else {
            continue;
        };
        if current == table && name.trim().trim_matches('"') == field {
            return Some(i + 1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_variable_maps_to_a_distinct_key() {
        let mut keys: Vec<_> = settings().map(|s| s.key).collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), settings().count());
    }

    #[test]
    fn lines_are_found_inside_their_table() {
        let text = "[ai]\nmodel = \"x\"\n\n[cache]\nmodel = 1\n";
        assert_eq!(line_of(text, "ai.model"), Some(2));
        assert_eq!(line_of(text, "cache.model"), Some(5));
        assert_eq!(line_of(text, "server.model"), None);
    }
}
