//! The `veil` binary as a newcomer meets it: `--help` says what the defaults are and what
//! each argument is, `detect` needs no `--jsonl`, the start-up log holds plain values, an
//! upstream failure is logged once with its request id, pretty logs carry no colour codes
//! when redirected, and `audit verify` says what is broken once.

use crate::common::*;
use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

const VEIL: &str = env!("CARGO_BIN_EXE_veil");

fn veil(args: &[&str]) -> Output {
    Command::new(VEIL).args(args).env_remove("VEIL_CONFIG").stdin(Stdio::null()).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn serve_help_shows_the_defaults_the_config_search_and_the_variables() {
    let out = veil(&["serve", "--help"]);
    assert!(out.status.success());
    let help = stdout(&out);
    for want in [
        "127.0.0.1:8787",
        "--config FILE, else the file $VEIL_CONFIG names, else none",
        "default model built into",
        "veil-audit.jsonl",
        "VEIL_CONFIG",
        "OPENAI_API_KEY",
        "ANTHROPIC_API_KEY",
        "VEIL_AUDIT_KEY",
        "RUST_LOG",
    ] {
        assert!(help.contains(want), "`veil serve --help` lacks {want:?}:\n{help}");
    }
}

#[test]
fn redact_and_detect_help_describe_their_input() {
    let redact = stdout(&veil(&["redact", "--help"]));
    assert!(redact.contains("[FILE]") && redact.contains("The text to mask"), "{redact}");
    assert!(redact.contains("[default: stdin]"), "{redact}");
    let detect = stdout(&veil(&["detect", "--help"]));
    assert!(detect.contains("[INPUT]") && detect.contains("one {\"id\": ..., \"text\": ...} per line"), "{detect}");
    assert!(detect.contains("--jsonl") && detect.contains("default and only format"), "{detect}");
}

fn detect(dir: &Path, extra: &[&str], input: &str) -> Output {
    let cfg = dir.join("veil.toml");
    std::fs::write(&cfg, "[detect]\nmodel = \"none\"\n").unwrap();
    let mut child = Command::new(VEIL)
        .arg("detect")
        .args(extra)
        .arg("--config")
        .arg(&cfg)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn detect_reads_json_lines_without_jsonl_and_still_accepts_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = "{\"id\": 1, \"text\": \"mail jane.doe@example.com now\"}\n{\"id\": \"b\", \"text\": \"nothing\"}\n";
    let plain = detect(dir.path(), &[], input);
    assert!(plain.status.success(), "{}", String::from_utf8_lossy(&plain.stderr));
    let flagged = detect(dir.path(), &["--jsonl"], input);
    assert!(flagged.status.success(), "{}", String::from_utf8_lossy(&flagged.stderr));
    assert_eq!(plain.stdout, flagged.stdout, "--jsonl changes nothing");
    let lines: Vec<Value> = stdout(&plain).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["id"], 1);
    let span = &lines[0]["spans"][0];
    assert_eq!(
        (span["label"].as_str(), span["start"].as_u64(), span["end"].as_u64()),
        (Some("EMAIL"), Some(5), Some(25))
    );
    assert_eq!(lines[1], serde_json::json!({"id": "b", "spans": []}));
}

/// `veil serve` on 127.0.0.1:0 with `config`, its stderr read line by line.
struct Served {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Served {
    fn start(config: &Path) -> Served {
        let mut child = Command::new(VEIL)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Served { child, lines, seen: Vec::new() }
    }

    /// The first log line that contains `what` (waits up to 60 s).
    fn wait_for(&mut self, what: &str) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(what) {
                        return line;
                    }
                }
                Err(_) => panic!("no log line with {what:?}; got:\n{}", self.seen.join("\n")),
            }
        }
    }

    /// Stops the server (SIGTERM) and returns every line it logged.
    fn stop(mut self) -> Vec<String> {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
        self.seen.extend(self.lines.try_iter());
        std::mem::take(&mut self.seen)
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn listen_addr(line: &str) -> String {
    let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    v["listen"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn logs_hold_plain_values_and_an_upstream_failure_once_with_its_request_id() {
    let dir = tempfile::tempdir().unwrap();
    // A port that refuses connections: bound, then closed.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let audit = dir.path().join("veil-audit.jsonl");
    let cfg = dir.path().join("veil.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlog_format = \"json\"\n[detect]\nmodel = \"none\"\n[providers.down]\nkind = \"openai\"\n\
             base_url = \"http://{closed}/v1\"\n[audit]\npath = \"{}\"\n",
            audit.display()
        ),
    )
    .unwrap();
    let mut served = Served::start(&cfg);
    let started = served.wait_for("veil listening");
    let v: Value = serde_json::from_str(&started).unwrap();
    assert_eq!(v["audit"], audit.display().to_string(), "the audit log's path as it is: {started}");
    let detectors = v["detectors"].as_str().unwrap();
    assert!(detectors.starts_with("pattern/"), "{started}");
    assert!(!detectors.contains('[') && !detectors.contains('"'), "a plain list: {started}");
    assert!(!started.contains("Some("), "{started}");

    let addr = listen_addr(&started);
    let resp = reqwest::Client::new()
        .post(format!("http://{addr}/v1/chat/completions"))
        .json(&openai_body("down/some-model", "hello", false))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 502);
    let request_id = resp.headers()["x-request-id"].to_str().unwrap().to_string();
    served.wait_for("upstream request failed");
    let lines = served.stop();
    let about: Vec<&String> = lines.iter().filter(|l| l.contains("failed") && !l.contains("veil stopped")).collect();
    assert_eq!(about.len(), 1, "one line for the failure:\n{}", lines.join("\n"));
    let v: Value = serde_json::from_str(about[0]).unwrap();
    assert_eq!(v["request_id"], request_id.as_str(), "{}", about[0]);
    assert_eq!(v["provider"], "down");
}

#[test]
fn pretty_logs_redirected_to_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("veil.toml");
    std::fs::write(
        &cfg,
        format!(
            "[server]\nlog_format = \"pretty\"\n[detect]\nmodel = \"none\"\n[audit]\npath = \"{}\"\n",
            dir.path().join("a.jsonl").display()
        ),
    )
    .unwrap();
    let mut served = Served::start(&cfg);
    let started = served.wait_for("veil listening");
    let lines = served.stop();
    assert!(started.contains("listen=127.0.0.1:"), "pretty, not JSON: {started}");
    for line in &lines {
        assert!(!line.contains('\u{1b}'), "an ANSI escape in a redirected log: {line:?}");
    }
}

#[tokio::test]
async fn audit_verify_says_once_what_is_broken() {
    let gw = gateway("").await;
    for _ in 0..3 {
        let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", "hi", false)).await;
        assert_eq!(status, 200);
    }
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 3);
    let text = std::fs::read_to_string(&gw.audit_path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let mut second: Value = serde_json::from_str(&lines[1]).unwrap();
    second["status"] = serde_json::json!(500);
    lines[1] = second.to_string();
    let tampered = gw.audit_path.with_file_name("tampered.jsonl");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let out =
        Command::new(VEIL).args(["audit", "verify"]).arg(&tampered).env_remove("VEIL_AUDIT_KEY").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one message: {err}");
    assert_eq!(err.matches("is broken").count(), 1, "{err}");
    assert_eq!(err.matches("tampered.jsonl").count(), 1, "{err}");
    assert!(err.contains("line 2"), "{err}");
}
