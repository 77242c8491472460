//! Health probes: short-timeout HTTP GETs on loopback, run in parallel.

use std::time::{Duration, Instant};

use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub url: String,
    /// A substring the body must contain (a foreign server answering 200 is not enough).
    #[serde(skip)]
    pub expect: Option<&'static str>,
}

impl Probe {
    pub fn new(url: impl Into<String>, expect: Option<&'static str>) -> Probe {
        Probe { url: url.into(), expect }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    pub url: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// What went wrong, or a short excerpt of a good answer.
    pub detail: String,
    pub ms: u64,
}

/// An HTTP client for loopback probes and gateway calls (rustls with ring, installed once).
pub fn client(timeout: Duration) -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(2)))
        .no_proxy()
        .build()
        .expect("reqwest client builds")
}

pub async fn check(client: &reqwest::Client, p: &Probe, bearer: Option<&str>) -> Outcome {
    if let Some(addr) = p.url.strip_prefix("redis://") {
        return redis_ping(&p.url, addr).await;
    }
    let t0 = Instant::now();
    let mut req = client.get(&p.url);
    if let Some(b) = bearer {
        req = req.bearer_auth(b);
    }
    let res = req.send().await;
    let ms = t0.elapsed().as_millis() as u64;
    match res {
        Err(e) => {
            let detail = if e.is_connect() {
                "connection refused".to_string()
            } else if e.is_timeout() {
                "timed out".to_string()
            } else {
                format!("{e}")
            };
            Outcome { url: p.url.clone(), ok: false, status: None, detail, ms }
        }
        Ok(r) => {
            let status = r.status().as_u16();
            let body = r.text().await.unwrap_or_default();
            let excerpt: String = body.chars().take(80).collect::<String>().replace('\n', " ");
            let body_ok = p.expect.is_none_or(|x| body.contains(x));
            let ok = status == 200 && body_ok;
            let detail = if ok || status != 200 {
                format!("HTTP {status} {excerpt}")
            } else {
                format!("HTTP 200 but not the expected answer: {excerpt}")
            };
            Outcome { url: p.url.clone(), ok, status: Some(status), detail: detail.trim_end().into(), ms }
        }
    }
}

/// `PING` in the Redis protocol, without the password: `+PONG`, or `-NOAUTH` from a server that
/// wants one, both prove a Redis answers there (HTTP would be refused as a cross-protocol attack).
async fn redis_ping(url: &str, addr: &str) -> Outcome {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let t0 = Instant::now();
    let run = async {
        let mut s = tokio::net::TcpStream::connect(addr).await?;
        s.write_all(b"PING\r\n").await?;
        let mut buf = [0u8; 128];
        let n = s.read(&mut buf).await?;
        Ok::<String, std::io::Error>(String::from_utf8_lossy(&buf[..n]).trim_end().to_string())
    };
    let (ok, detail) = match tokio::time::timeout(Duration::from_secs(2), run).await {
        Err(_) => (false, "timed out".to_string()),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => (false, "connection refused".into()),
        Ok(Err(e)) => (false, e.to_string()),
        Ok(Ok(a)) if a == "+PONG" => (true, "PONG (no password)".into()),
        Ok(Ok(a)) if a.starts_with("-NOAUTH") => (true, "answers, password required".into()),
        Ok(Ok(a)) => (false, format!("not a Redis answer: {}", a.chars().take(60).collect::<String>())),
    };
    Outcome { url: url.to_string(), ok, status: None, detail, ms: t0.elapsed().as_millis() as u64 }
}

/// Run a future to completion on a small runtime of its own (the CLI is synchronous).
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio runtime").block_on(f)
}

/// Check many probes at once; results in the order given.
pub fn check_all(probes: &[Probe], timeout: Duration) -> Vec<Outcome> {
    let c = client(timeout);
    block_on(futures_util::future::join_all(probes.iter().map(|p| check(&c, p, None))))
}
