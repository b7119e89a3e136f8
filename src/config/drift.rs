//! Each setting is written once (`section!`): its field, environment name, key, reader and
//! default. What is written about it elsewhere — the README's table, the shipped `Leptos.toml`
//! — is held to that here, so a setting added, renamed or dropped in one place and not the
//! others fails a test.

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use figment::{
        error::Kind,
        providers::{Format, Toml},
        Figment, Provider,
    };

    use super::super::{settings, Settings, DEFAULT_CONFIG_FILE};

    /// Keys of the tree that only the config file sets: lists of tables, and what the
    /// environment names by another variable.
    const FILE_ONLY: &[&str] = &["auth.users"];

    /// The fields of `section` ("" for the top) as serde knows them: an unknown key is refused
    /// with the list of known ones.
    fn fields(section: &str) -> Vec<&'static str> {
        let file = if section.is_empty() {
            "no_such_setting = 1\n".to_owned()
        } else {
            format!("[{section}]\nno_such_setting = 1\n")
        };
        let error = Figment::from(Toml::string(&file))
            .extract::<Settings>()
            .expect_err("an unknown key is refused");
        match error.kind {
            Kind::UnknownField(_, known) => known.to_vec(),
            other => panic!("expected an unknown field, got {other:?}"),
        }
    }

    /// Every `section.key` of the tree.
    fn tree() -> BTreeSet<String> {
        fields("")
            .into_iter()
            .flat_map(|section| {
                fields(section)
                    .into_iter()
                    .map(move |key| format!("{section}.{key}"))
            })
            .collect()
    }

    #[test]
    fn every_key_of_the_tree_has_an_environment_name_of_its_own() {
        let tree = tree();
        assert!(tree.len() > 40, "{tree:?}");
        let named: BTreeSet<String> = settings().map(|s| s.key.to_owned()).collect();
        let unknown: Vec<&String> = named.difference(&tree).collect();
        assert!(
            unknown.is_empty(),
            "ENV names keys the tree lacks: {unknown:?}"
        );
        let unnamed: Vec<&String> = tree
            .difference(&named)
            .filter(|key| !FILE_ONLY.contains(&key.as_str()))
            .collect();
        assert!(
            unnamed.is_empty(),
            "keys without an environment name: {unnamed:?}"
        );
        let names: BTreeSet<&str> = settings().map(|s| s.env).collect();
        assert_eq!(
            names.len(),
            settings().count(),
            "an environment name is used twice"
        );
    }

    #[test]
    fn the_readme_table_lists_every_setting_with_its_key_and_default() {
        let readme = include_str!("../../README.md");
        let rows: BTreeSet<(String, String, String)> = readme
            .lines()
            .filter_map(|line| {
                let mut cells = line.strip_prefix("| `")?.split(" | ");
                let name = cells.next()?.strip_suffix('`')?;
                let key = cells.next()?.strip_prefix('`')?.strip_suffix('`')?;
                let shown = cells.next()?;
                name.bytes()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
                    .then(|| (name.to_owned(), key.to_owned(), shown.to_owned()))
            })
            .collect();
        let env: BTreeSet<(String, String, String)> = settings()
            .map(|s| (s.env.to_owned(), s.key.to_owned(), s.shown.to_owned()))
            .collect();
        let missing: Vec<_> = env.difference(&rows).collect();
        let extra: Vec<_> = rows.difference(&env).collect();
        assert!(missing.is_empty(), "not in the README's table: {missing:?}");
        assert!(extra.is_empty(), "in the README's table only: {extra:?}");
    }

    #[test]
    fn the_shipped_config_file_sets_only_keys_of_the_tree_to_their_defaults() {
        let text = include_str!("../../Leptos.toml");
        let tree = tree();
        let data = Toml::string(text).data().expect("Leptos.toml is TOML");
        for (section, values) in data.values().flat_map(|d| d.iter()) {
            let table = values.as_dict().expect("sections only");
            for key in table.keys() {
                assert!(
                    tree.contains(&format!("{section}.{key}")),
                    "{section}.{key}"
                );
            }
        }
        // As shipped, it changes nothing but where the templates are read from (the same
        // registry the binary holds).
        let empty = HashMap::new();
        let shipped = Settings::from_sources(Some((DEFAULT_CONFIG_FILE, text)), &empty).unwrap();
        let mut built_in = Settings::from_sources(None, &empty).unwrap();
        built_in.server.templates_path = shipped.server.templates_path.clone();
        assert_eq!(format!("{shipped:?}"), format!("{built_in:?}"));
    }
}
