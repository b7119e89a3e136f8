//! `section!`: a section of the settings tree written once. Each setting is one field with its
//! doc, its environment name, its key, the reader that checks it, its default and the default
//! as the README shows it; the struct, its `Default`, and the section's list of settings (from
//! which the environment layer, the secret keys and the README check follow) are made from it.

/// One setting as an operator knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Setting {
    /// The environment variable (and `.env` line) that sets it.
    pub env: &'static str,
    /// `section.key` in the config file.
    pub key: &'static str,
    /// Its default as the README's table shows it.
    pub shown: &'static str,
    /// Its value is never quoted in a message.
    pub secret: bool,
}

macro_rules! is_secret {
    () => {
        false
    };
    (secret) => {
        true
    };
}

macro_rules! section {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $section:literal {
            $(
                $(#[doc = $doc:literal])*
                [$env:literal, $key:literal, $read:literal, $shown:literal $(, $secret:ident)?]
                $vis:vis $field:ident: $ty:ty = $default:expr,
            )*
        }
        $(
            also {
                $(
                    $(#[$xmeta:meta])*
                    $xvis:vis $xfield:ident: $xty:ty = $xdefault:expr,
                )*
            }
        )?
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $key, deserialize_with = $read)]
                $vis $field: $ty,
            )*
            $($(
                $(#[$xmeta])*
                $xvis $xfield: $xty,
            )*)?
        }

        impl Default for $name {
            fn default() -> Self {
                Self {
                    $($field: $default,)*
                    $($($xfield: $xdefault,)*)?
                }
            }
        }

        impl $name {
            /// This section's settings, in the order they are written.
            pub const SETTINGS: &'static [$crate::config::section::Setting] = &[
                $($crate::config::section::Setting {
                    env: $env,
                    key: concat!($section, ".", $key),
                    shown: $shown,
                    secret: is_secret!($($secret)?),
                },)*
            ];
        }
    };
}
