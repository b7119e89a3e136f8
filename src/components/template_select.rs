//! The plan-template picker, used by the generator form and the dashboard's warm-up form.

use leptos::prelude::*;

use crate::model::TemplateView;

/// A `<select name=…>` of the templates, showing `value` and reporting the chosen id.
#[component]
pub fn TemplateSelect(
    name: &'static str,
    templates: StoredValue<Vec<TemplateView>>,
    #[prop(into)] value: Signal<String>,
    on_change: impl Fn(String) + 'static,
) -> impl IntoView {
    view! {
        <select
            name=name
            prop:value=move || value.get()
            on:change=move |ev| on_change(event_target_value(&ev))
        >
            {templates
                .with_value(|list| {
                    list.iter()
                        .map(|t| view! { <option value=t.id.clone()>{t.name.clone()}</option> })
                        .collect_view()
                })}
        </select>
    }
}
