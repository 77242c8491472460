//! `aiorch bench`: each alias through the gateway, streamed, the way clients use it. Records
//! time to first token, generation speed and errors (with which alias really answered: the
//! gateway's `x-litellm-model-group` header shows fallbacks); prints a table, writes JSON and a
//! hand-drawn SVG chart.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use serde::Serialize;

use crate::error::{CliError, Exit, did_you_mean};
use crate::services::health::{self, Probe};
use crate::services::lifecycle::Ctx;
use crate::services::litellm::{self, ALIASES};

pub struct Options {
    pub aliases: Vec<String>,
    pub requests: usize,
    pub max_tokens: u32,
    pub prompt: String,
    pub out: Option<PathBuf>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ttft_ms: Option<f64>,
    pub total_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completion_tokens: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens_per_s: Option<f64>,
    /// The alias that answered (differs from the one asked after a fallback).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub served_by: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AliasResult {
    pub alias: String,
    pub requests: usize,
    pub errors: usize,
    pub error_kinds: BTreeMap<String, usize>,
    pub ttft_ms_median: Option<f64>,
    pub ttft_ms_max: Option<f64>,
    pub tokens_per_s_median: Option<f64>,
    pub total_ms_median: Option<f64>,
    pub served_by: Vec<String>,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub gateway: String,
    pub at: String,
    pub requests_per_alias: usize,
    pub max_tokens: u32,
    pub prompt: String,
    pub loadavg: Option<String>,
    pub results: Vec<AliasResult>,
}

pub fn median(v: &[f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    Some(if n % 2 == 1 { s[n / 2] } else { (s[n / 2 - 1] + s[n / 2]) / 2.0 })
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// One streamed chat request: TTFT is the first chunk that carries generated text.
async fn one(client: &reqwest::Client, url: &str, key: Option<&str>, alias: &str, opts: &Options) -> Sample {
    let body = serde_json::json!({
        "model": alias,
        "messages": [{"role": "user", "content": opts.prompt}],
        "max_tokens": opts.max_tokens,
        "temperature": 0,
        "stream": true,
        "stream_options": {"include_usage": true},
    });
    let t0 = Instant::now();
    let mut req = client.post(url).json(&body);
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    let fail = |e: String, t0: Instant| Sample {
        ok: false,
        ttft_ms: None,
        total_ms: round1(t0.elapsed().as_secs_f64() * 1e3),
        completion_tokens: None,
        tokens_per_s: None,
        served_by: None,
        error: Some(e),
    };
    let resp = match req.send().await {
        Ok(r) => r,
        Err(e) => {
            return fail(
                if e.is_timeout() {
                    "timeout".into()
                } else if e.is_connect() {
                    "connect".into()
                } else {
                    format!("request: {e}")
                },
                t0,
            );
        }
    };
    let served_by = resp.headers().get("x-litellm-model-group").and_then(|v| v.to_str().ok()).map(str::to_string);
    let status = resp.status();
    if !status.is_success() {
        let text = resp.text().await.unwrap_or_default();
        let msg = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
            .unwrap_or(text);
        let msg: String = msg.chars().take(120).collect();
        return fail(format!("HTTP {}: {msg}", status.as_u16()), t0);
    }
    let mut stream = resp.bytes_stream();
    let mut parser = crate::sse::Parser::default();
    let (mut ttft, mut chunks, mut usage, mut err) = (None, 0u64, None, None);
    let mut ended = false;
    while !ended {
        let events = match stream.next().await {
            Some(Ok(part)) => parser.push(&part),
            Some(Err(e)) => {
                err = Some(if e.is_timeout() { "timeout".into() } else { format!("stream: {e}") });
                break;
            }
            None => {
                ended = true;
                parser.finish().into_iter().collect()
            }
        };
        for data in events {
            let data = data.trim();
            if data == "[DONE]" {
                ended = true;
                break;
            }
            let Ok(v) = serde_json::from_str::<serde_json::Value>(data) else { continue };
            if let Some(e) = v.get("error") {
                err = Some(format!("stream error: {}", e["message"].as_str().unwrap_or("unknown")));
                ended = true;
                break;
            }
            let delta = &v["choices"][0]["delta"];
            let text = delta["content"].as_str().or_else(|| delta["reasoning_content"].as_str()).unwrap_or("");
            if !text.is_empty() {
                chunks += 1;
                ttft.get_or_insert_with(|| t0.elapsed());
            }
            if let Some(n) = v["usage"]["completion_tokens"].as_u64() {
                usage = Some(n);
            }
        }
    }
    let total = t0.elapsed();
    if let Some(e) = err {
        return Sample { served_by, ..fail(e, t0) };
    }
    let tokens = usage.or(Some(chunks)).filter(|n| *n > 0);
    let tps = match (ttft, tokens) {
        (Some(t), Some(n)) if n > 1 && total > t => Some(round1((n - 1) as f64 / (total - t).as_secs_f64())),
        _ => None,
    };
    Sample {
        ok: ttft.is_some(),
        ttft_ms: ttft.map(|t| round1(t.as_secs_f64() * 1e3)),
        total_ms: round1(total.as_secs_f64() * 1e3),
        completion_tokens: tokens,
        tokens_per_s: tps,
        served_by,
        error: if ttft.is_some() { None } else { Some("no tokens".into()) },
    }
}

fn error_kind(e: &str) -> String {
    e.split(':').next().unwrap_or(e).to_string()
}

fn summarise(alias: &str, samples: Vec<Sample>) -> AliasResult {
    let ok: Vec<&Sample> = samples.iter().filter(|s| s.ok).collect();
    let ttft: Vec<f64> = ok.iter().filter_map(|s| s.ttft_ms).collect();
    let tps: Vec<f64> = ok.iter().filter_map(|s| s.tokens_per_s).collect();
    let total: Vec<f64> = ok.iter().map(|s| s.total_ms).collect();
    let mut kinds = BTreeMap::new();
    for s in samples.iter().filter(|s| !s.ok) {
        *kinds.entry(error_kind(s.error.as_deref().unwrap_or("error"))).or_insert(0) += 1;
    }
    let mut served: Vec<String> = samples.iter().filter_map(|s| s.served_by.clone()).collect();
    served.sort();
    served.dedup();
    AliasResult {
        alias: alias.into(),
        requests: samples.len(),
        errors: samples.len() - ok.len(),
        error_kinds: kinds,
        ttft_ms_median: median(&ttft).map(round1),
        ttft_ms_max: ttft.iter().copied().reduce(f64::max),
        tokens_per_s_median: median(&tps).map(round1),
        total_ms_median: median(&total).map(round1),
        served_by: served,
        samples,
    }
}

pub fn run(ctx: &Ctx, opts: &Options) -> anyhow::Result<Exit> {
    let aliases: Vec<String> =
        if opts.aliases.is_empty() { ALIASES.iter().map(|s| s.to_string()).collect() } else { opts.aliases.clone() };
    for a in &aliases {
        if !ALIASES.contains(&a.as_str()) {
            let mut e = CliError::bad_input(format!("`{a}` is not a gateway alias"));
            if let Some(b) = did_you_mean(a, ALIASES) {
                e = e.hint(format!("did you mean `{b}`?"));
            }
            return Err(e.hint(format!("the aliases are {}", ALIASES.join(", "))).into());
        }
    }
    if opts.requests == 0 {
        return Err(CliError::bad_input("--requests must be at least 1").into());
    }
    let gateway = litellm::base_url(ctx.cfg);
    let live =
        health::check_all(&[Probe::new(format!("{gateway}/health/liveliness"), Some("alive"))], Duration::from_secs(3));
    if !live[0].ok {
        return Err(CliError::failed(format!("the gateway does not answer at {gateway} ({})", live[0].detail))
            .hint("start it: aiorch services up")
            .into());
    }
    let key = match litellm::plan(ctx.cfg)?.master_key_secret {
        Some(name) => Some(crate::secrets::resolve(&ctx.cfg.secrets, ctx.paths, &[name])?.remove(0).1),
        None => None,
    };
    let url = format!("{gateway}/v1/chat/completions");
    let client = health::client(opts.timeout);
    let mut results = vec![];
    let show = !ctx.ui.quiet && !ctx.ui.json;
    for alias in &aliases {
        if show {
            eprint!("{alias}: ");
        }
        let samples = health::block_on(async {
            // Warm-up (loads the model, fills caches): not counted.
            let _ = one(&client, &url, key.as_deref().map(|k| k.as_str()), alias, opts).await;
            let mut v = vec![];
            for _ in 0..opts.requests {
                let s = one(&client, &url, key.as_deref().map(|k| k.as_str()), alias, opts).await;
                if show {
                    eprint!("{}", if s.ok { "." } else { "x" });
                }
                v.push(s);
            }
            v
        });
        if show {
            eprintln!();
        }
        results.push(summarise(alias, samples));
    }
    let now = crate::ui::now_unix();
    let report = Report {
        gateway,
        at: crate::ui::utc_stamp(now),
        requests_per_alias: opts.requests,
        max_tokens: opts.max_tokens,
        prompt: opts.prompt.clone(),
        loadavg: fs_err::read_to_string("/proc/loadavg")
            .ok()
            .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" ")),
        results,
    };
    let dir = opts.out.clone().unwrap_or_else(|| ctx.layout.bench_dir());
    fs_err::create_dir_all(&dir)?;
    let stem = format!("bench-{}", report.at);
    let json_path = dir.join(format!("{stem}.json"));
    let svg_path = dir.join(format!("{stem}.svg"));
    crate::apply::fsutil::write_atomic(&json_path, (serde_json::to_string_pretty(&report)? + "\n").as_bytes(), 0o644)?;
    crate::apply::fsutil::write_atomic(&svg_path, svg(&report).as_bytes(), 0o644)?;
    if ctx.ui.json {
        let mut v = serde_json::to_value(&report)?;
        v["files"] = serde_json::json!({ "json": json_path, "svg": svg_path });
        ctx.ui.json(&v);
    } else {
        ctx.ui.data(&table(&report));
        ctx.ui.out(&format!("JSON: {}\nSVG:  {}", json_path.display(), svg_path.display()));
    }
    let errors: usize = report.results.iter().map(|r| r.errors).sum();
    Ok(if errors > 0 { Exit::Failed } else { Exit::Ok })
}

fn fmt_opt(v: Option<f64>, unit: &str) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.1}{unit}"))
}

pub fn table(r: &Report) -> String {
    let mut t = format!(
        "{:<15} {:>10} {:>10} {:>9} {:>10} {:>7}  {}\n",
        "alias", "TTFT med", "TTFT max", "tok/s", "total med", "errors", "served by"
    );
    for a in &r.results {
        let errs = if a.errors == 0 { format!("0/{}", a.requests) } else { format!("{}/{}", a.errors, a.requests) };
        let mut served = a.served_by.join(",");
        if !a.error_kinds.is_empty() {
            let kinds: Vec<String> = a.error_kinds.iter().map(|(k, n)| format!("{k} ×{n}")).collect();
            served = format!("{served}  [{}]", kinds.join(", "));
        }
        t.push_str(&format!(
            "{:<15} {:>10} {:>10} {:>9} {:>10} {:>7}  {}\n",
            a.alias,
            fmt_opt(a.ttft_ms_median, " ms"),
            fmt_opt(a.ttft_ms_max, " ms"),
            fmt_opt(a.tokens_per_s_median, ""),
            fmt_opt(a.total_ms_median, " ms"),
            errs,
            served.trim()
        ));
    }
    t.trim_end().to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// Two bar panels (median TTFT, median tokens/s) with each sample as a dot, errors in red.
pub fn svg(r: &Report) -> String {
    const W: f64 = 760.0;
    const LABEL: f64 = 130.0;
    const BAR_W: f64 = 470.0;
    const ROW: f64 = 30.0;
    let n = r.results.len() as f64;
    let panel_h = 40.0 + n * ROW;
    let h = 70.0 + 2.0 * panel_h + 30.0;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{h}\" viewBox=\"0 0 {W} {h}\" \
         font-family=\"sans-serif\" font-size=\"13\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"16\" y=\"26\" font-size=\"17\" font-weight=\"bold\">\
         aiorch bench: {} requests per alias, max_tokens {}</text>\n\
         <text x=\"16\" y=\"46\" fill=\"#555\">{} via {}{}</text>\n",
        r.requests_per_alias,
        r.max_tokens,
        esc(&r.at),
        esc(&r.gateway),
        r.loadavg.as_deref().map_or(String::new(), |l| format!(", load average {}", esc(l)))
    );
    struct Panel {
        title: &'static str,
        unit: &'static str,
        med: fn(&AliasResult) -> Option<f64>,
        each: fn(&Sample) -> Option<f64>,
        colour: &'static str,
    }
    let panels = [
        Panel {
            title: "Time to first token (median; dots: each request)",
            unit: "ms",
            med: |a| a.ttft_ms_median,
            each: |s| s.ttft_ms,
            colour: "#4e79a7",
        },
        Panel {
            title: "Generation speed (median; dots: each request)",
            unit: "tok/s",
            med: |a| a.tokens_per_s_median,
            each: |s| s.tokens_per_s,
            colour: "#59a14f",
        },
    ];
    for (p, Panel { title, unit, med, each, colour }) in panels.iter().enumerate() {
        let top = 70.0 + p as f64 * panel_h;
        let max = r
            .results
            .iter()
            .flat_map(|a| a.samples.iter().filter_map(each).chain(med(a)))
            .fold(0.0_f64, f64::max)
            .max(1e-9);
        s.push_str(&format!("<text x=\"16\" y=\"{}\" font-weight=\"bold\">{}</text>\n", top + 14.0, esc(title)));
        for (i, a) in r.results.iter().enumerate() {
            let y = top + 28.0 + i as f64 * ROW;
            s.push_str(&format!("<text x=\"16\" y=\"{}\">{}</text>\n", y + 15.0, esc(&a.alias)));
            s.push_str(&format!("<rect x=\"{LABEL}\" y=\"{y}\" width=\"{BAR_W}\" height=\"20\" fill=\"#f2f2f2\"/>\n"));
            if let Some(v) = med(a) {
                let w = (v / max * BAR_W).max(1.0);
                s.push_str(&format!(
                    "<rect x=\"{LABEL}\" y=\"{y}\" width=\"{w:.1}\" height=\"20\" fill=\"{colour}\"/>\n"
                ));
            }
            for x in a.samples.iter().filter_map(each) {
                let cx = LABEL + x / max * BAR_W;
                s.push_str(&format!(
                    "<circle cx=\"{cx:.1}\" cy=\"{}\" r=\"2.5\" fill=\"black\" fill-opacity=\"0.55\"/>\n",
                    y + 10.0
                ));
            }
            let label = med(a).map_or_else(|| "no data".to_string(), |v| format!("{v:.1} {unit}"));
            let errs = if a.errors > 0 {
                format!("  {} error{}", a.errors, if a.errors == 1 { "" } else { "s" })
            } else {
                String::new()
            };
            s.push_str(&format!("<text x=\"{}\" y=\"{}\">{}</text>", LABEL + BAR_W + 8.0, y + 15.0, esc(&label)));
            if !errs.is_empty() {
                s.push_str(&format!(
                    "<text x=\"{}\" y=\"{}\" fill=\"#c0392b\">{}</text>",
                    LABEL + BAR_W + 8.0 + 7.5 * label.len() as f64,
                    y + 15.0,
                    esc(&errs)
                ));
            }
            s.push('\n');
        }
    }
    let fallbacks: Vec<String> = r
        .results
        .iter()
        .filter(|a| a.served_by.iter().any(|s| *s != a.alias))
        .map(|a| format!("{} → {}", a.alias, a.served_by.join(",")))
        .collect();
    let foot = if fallbacks.is_empty() {
        "every alias answered itself".to_string()
    } else {
        format!("served by a fallback: {}", fallbacks.join("; "))
    };
    s.push_str(&format!("<text x=\"16\" y=\"{}\" fill=\"#555\">{}</text>\n</svg>\n", h - 12.0, esc(&foot)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(ttft: f64, tps: f64) -> Sample {
        Sample {
            ok: true,
            ttft_ms: Some(ttft),
            total_ms: ttft + 500.0,
            completion_tokens: Some(16),
            tokens_per_s: Some(tps),
            served_by: Some("local-coding".into()),
            error: None,
        }
    }

    fn report() -> Report {
        let err = Sample {
            ok: false,
            ttft_ms: None,
            total_ms: 3.0,
            completion_tokens: None,
            tokens_per_s: None,
            served_by: None,
            error: Some("HTTP 429: crossed budget".into()),
        };
        Report {
            gateway: "http://127.0.0.1:4000".into(),
            at: "20261121T102500Z".into(),
            requests_per_alias: 3,
            max_tokens: 16,
            prompt: "p".into(),
            loadavg: None,
            results: vec![
                summarise("local-coding", vec![sample(100.0, 20.0), sample(140.0, 22.0), sample(120.0, 21.0)]),
                summarise(
                    "coding-model",
                    vec![
                        sample(300.0, 10.0),
                        err.clone(),
                        Sample { served_by: Some("local-coding".into()), ..sample(200.0, 12.0) },
                    ],
                ),
            ],
        }
    }

    #[test]
    fn medians_and_errors() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), Some(2.5));
        assert_eq!(median(&[]), None);
        let r = report();
        assert_eq!(r.results[0].ttft_ms_median, Some(120.0));
        assert_eq!(r.results[1].errors, 1);
        assert_eq!(r.results[1].error_kinds.get("HTTP 429"), Some(&1));
    }

    #[test]
    fn table_and_svg_snapshots() {
        let r = report();
        insta::assert_snapshot!("bench_table", table(&r));
        insta::assert_snapshot!("bench_svg", svg(&r));
    }
}
