//! Requests and hits per interval as an SVG bar chart, with the hit rate in the title of each bar.

use leptos::prelude::*;

use crate::model::HistoryPoint;

const WIDTH: f64 = 600.0;
const HEIGHT: f64 = 160.0;

#[component]
pub fn TrafficChart(points: Vec<HistoryPoint>) -> impl IntoView {
    if points.is_empty() {
        return view! { <p class="muted">"暂无数据。"</p> }.into_any();
    }
    let max = points.iter().map(|p| p.requests).max().unwrap_or(0).max(1) as f64;
    let slot = WIDTH / points.len() as f64;
    let bar = (slot * 0.8).max(1.0);
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let x = i as f64 * slot + (slot - bar) / 2.0;
            let h_req = p.requests as f64 / max * (HEIGHT - 10.0);
            let h_hit = p.hits as f64 / max * (HEIGHT - 10.0);
            let rate = if p.requests == 0 {
                "—".to_owned()
            } else {
                format!("{:.0}%", p.hits as f64 * 100.0 / p.requests as f64)
            };
            let title = format!("请求 {}，命中 {}，命中率 {rate}", p.requests, p.hits);
            view! {
                <g>
                    <title>{title}</title>
                    <rect class="bar-requests" x=x y=HEIGHT - h_req width=bar height=h_req></rect>
                    <rect class="bar-hits" x=x y=HEIGHT - h_hit width=bar height=h_hit></rect>
                </g>
            }
        })
        .collect_view();
    let total: u64 = points.iter().map(|p| p.requests).sum();
    let hits: u64 = points.iter().map(|p| p.hits).sum();
    let summary = format!(
        "最近 {} 个区间共 {total} 次请求，其中 {hits} 次命中缓存。",
        points.len()
    );
    view! {
        <figure class="chart">
            <svg
                viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                preserveAspectRatio="none"
                role="img"
                aria-label=summary.clone()
            >
                {bars}
            </svg>
            <figcaption class="muted">
                <span class="legend requests"></span>
                "请求 "
                <span class="legend hits"></span>
                "命中 · "
                {summary}
            </figcaption>
        </figure>
    }
    .into_any()
}
