//! The audit tools through the real `veil` binary: `audit query` filters and `audit export
//! --csv` over a log the in-process gateway wrote, `audit tail` following a log while the
//! gateway appends to it, and `veil serve` rotating its log by size into a set that `audit
//! verify DIR` accepts, and rejects once a middle file is gone.

use crate::common::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const VEIL: &str = env!("CARGO_BIN_EXE_veil");

fn sha(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Runs `veil audit ARGS...`; returns (exit code, stdout, stderr).
fn audit(args: &[&str], files: &[&Path]) -> (i32, String, String) {
    let out = Command::new(VEIL)
        .arg("audit")
        .args(args)
        .args(files)
        .env_remove("VEIL_AUDIT_KEY")
        .output()
        .expect("veil runs");
    (out.status.code().unwrap_or(-1), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
}

/// `request_id`s of the JSON lines `veil audit query --json` prints for `filters`.
fn query_ids(log: &Path, filters: &[&str]) -> Vec<String> {
    let mut args = vec!["query", "--json"];
    args.extend_from_slice(filters);
    let (code, out, err) = audit(&args, &[log]);
    assert_eq!(code, 0, "{filters:?}: {err}");
    out.lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            // The line as written: its chain fields are there.
            assert!(v["hash"].is_string() && v["mac"].is_string(), "{l}");
            v["request_id"].as_str().unwrap().to_string()
        })
        .collect()
}

/// A gateway with two keys and a log of five requests with known outcomes; returns the
/// gateway (keep it alive) and the records, oldest first.
async fn logged_gateway() -> (Gateway, Vec<Value>) {
    let toml = format!(
        "[[keys]]\nid = \"team-a\"\nsha256 = \"{}\"\n[[keys]]\nid = \"team-b\"\nsha256 = \"{}\"\n",
        sha("secret-a"),
        sha("secret-b")
    );
    let gw = gateway(&toml).await;
    let chat = gw.url("/v1/chat/completions");
    let send = |key: &'static str, route: String, body: Value| {
        let r = gw.client.post(route).bearer_auth(key).json(&body);
        async move { r.send().await.unwrap().status().as_u16() }
    };
    // 1 team-a, ok, EMAIL; 2 team-b, anthropic provider, ok, PHONE; 3 team-a, unknown
    // provider: refused; 4 team-b, upstream 500: upstream_error; 5 team-a, ok, no entity.
    assert_eq!(send("secret-a", chat.clone(), openai_body("mock/echo", "mail jane.doe@example.com", false)).await, 200);
    assert_eq!(
        send("secret-b", gw.url("/v1/messages"), anthropic_body("mocka/echo", "call +1 415 555 0132", false)).await,
        200
    );
    assert_eq!(send("secret-a", chat.clone(), openai_body("nope/x", "hi", false)).await, 404);
    assert_eq!(send("secret-b", chat.clone(), openai_body("mock/error=500", "hi", false)).await, 502);
    assert_eq!(send("secret-a", chat.clone(), openai_body("mock/echo", "hello", false)).await, 200);
    let recs = gw.audit_records().await;
    assert_eq!(recs.len(), 5);
    let outcomes: Vec<&str> = recs.iter().map(|r| r["outcome"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["ok", "ok", "refused", "upstream_error", "ok"]);
    (gw, recs)
}

#[tokio::test]
async fn query_filters_return_the_right_records() {
    let (gw, recs) = logged_gateway().await;
    let id = |i: usize| recs[i]["request_id"].as_str().unwrap().to_string();
    let log = gw.audit_path.as_path();
    let cases: &[(&[&str], &[usize])] = &[
        (&[], &[0, 1, 2, 3, 4]),
        (&["--key", "team-a"], &[0, 2, 4]),
        (&["--key", "team-b", "--key", "team-a"], &[0, 1, 2, 3, 4]),
        (&["--label", "EMAIL"], &[0]),
        (&["--label", "EMAIL", "--label", "PHONE"], &[0, 1]),
        (&["--provider", "mocka"], &[1]),
        (&["--model", "mock/echo"], &[0, 4]),
        (&["--model", "echo"], &[0, 1, 4]),
        (&["--outcome", "refused"], &[2]),
        (&["--outcome", "upstream_error", "--outcome", "refused"], &[2, 3]),
        (&["--key", "team-a", "--outcome", "ok"], &[0, 4]),
        (&["--since", "1h"], &[0, 1, 2, 3, 4]),
        (&["--until", "1h"], &[]),
        (&["--since", "2000-01-01T00:00:00Z", "--until", "2100-01-01"], &[0, 1, 2, 3, 4]),
        (&["--limit", "2"], &[0, 1]),
        (&["--limit", "2", "--newest-first"], &[4, 3]),
        (&["--key", "team-a", "--limit", "1", "--newest-first"], &[4]),
    ];
    for (filters, want) in cases {
        let want: Vec<String> = want.iter().map(|&i| id(i)).collect();
        assert_eq!(query_ids(log, filters), want, "{filters:?}");
    }
    // The pretty table: a header and a row per record.
    let (code, out, err) = audit(&["query", "--key", "team-b"], &[log]);
    assert_eq!(code, 0, "{err}");
    let rows: Vec<&str> = out.lines().collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert!(rows[0].starts_with("TIME") && rows[0].contains("ENTITIES"), "{out}");
    assert!(rows[1].contains("team-b") && rows[1].contains("mocka") && rows[1].contains("PHONE:1"), "{out}");
    assert!(rows[2].contains("upstream_error") && rows[2].contains("502"), "{out}");
    assert!(err.contains("2 of 5 records match"), "{err}");
    // Bad filters: exit 2, naming the flag.
    for (args, want) in [
        (vec!["query", "--since", "yesterday"], "--since \"yesterday\""),
        (vec!["query", "--label", "EMAILS"], "--label \"EMAILS\": not a label"),
        (vec!["query", "--outcome", "failed"], "outcomes are ok, upstream_error, refused, blocked, cancelled, error"),
        (vec!["export", "--csv", "--limit", "0"], "--limit \"0\""),
    ] {
        let (code, _, err) = audit(&args, &[log]);
        assert_eq!(code, 2, "{args:?}");
        assert!(err.contains(want), "{args:?}: {err}");
    }
    let (code, _, err) = audit(&["query"], &[&log.with_file_name("missing.jsonl")]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.jsonl"), "{err}");
}

#[tokio::test]
async fn export_csv_has_a_header_and_one_row_per_record() {
    let (gw, recs) = logged_gateway().await;
    let (code, out, err) = audit(&["export", "--csv"], &[&gw.audit_path]);
    assert_eq!(code, 0, "{err}");
    for v in VALUES {
        assert!(!out.contains(v), "raw value {v:?} in the export");
    }
    let rows: Vec<&str> = out.split("\r\n").filter(|r| !r.is_empty()).collect();
    assert_eq!(rows.len(), 1 + recs.len(), "{out}");
    let header: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(&header[..4], ["seq", "time", "request_id", "key_id"]);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for (row, rec) in rows[1..].iter().zip(&recs) {
        let cells: Vec<&str> = row.split(',').collect();
        assert_eq!(cells.len(), header.len(), "{row}");
        assert_eq!(cells[col("seq")], rec["seq"].to_string());
        assert_eq!(cells[col("request_id")], rec["request_id"].as_str().unwrap());
        assert_eq!(cells[col("outcome")], rec["outcome"].as_str().unwrap());
        assert_eq!(cells[col("status")], rec["status"].to_string());
    }
    let cells1: Vec<&str> = rows[1].split(',').collect();
    assert_eq!((cells1[col("EMAIL")], cells1[col("PHONE")], cells1[col("key_id")]), ("1", "0", "team-a"));
    // Filters apply to the export too.
    let (code, out, _) = audit(&["export", "--csv", "--outcome", "ok", "--key", "team-a"], &[&gw.audit_path]);
    assert_eq!(code, 0);
    assert_eq!(out.split("\r\n").filter(|r| !r.is_empty()).count(), 3, "{out}");
    // --csv is required: it is the only format.
    let (code, _, _) = audit(&["export"], &[&gw.audit_path]);
    assert_eq!(code, 2);
}

/// Lines of a child's stdout, read on a thread, with a bounded wait for each.
struct Lines(std::sync::mpsc::Receiver<String>);

impl Lines {
    fn of(child: &mut std::process::Child) -> Lines {
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Lines(rx)
    }

    fn next(&self, what: &str) -> String {
        self.0.recv_timeout(Duration::from_secs(20)).unwrap_or_else(|_| panic!("no line from veil audit tail: {what}"))
    }
}

/// Kills the child by its PID when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn tail_follows_records_appended_after_it_started() {
    let gw = gateway("").await;
    let chat = gw.url("/v1/chat/completions");
    assert_eq!(gw.post("/v1/chat/completions", &openai_body("mock/echo", "first", false)).await.0, 200);
    let recs = gw.audit_records().await;
    let first_id = recs[0]["request_id"].as_str().unwrap().to_string();
    let spawn = |args: &[&str]| {
        KillOnDrop(
            Command::new(VEIL)
                .args(["audit", "tail"])
                .args(args)
                .arg(&gw.audit_path)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let mut pretty = spawn(&["-n", "1"]);
    let mut json = spawn(&["-n", "1", "--json"]);
    let (pl, jl) = (Lines::of(&mut pretty.0), Lines::of(&mut json.0));
    // Both print the last record first; after that line they are following.
    let line = pl.next("the last record");
    assert!(line.contains("mock/echo"), "{line}");
    assert!(line.contains("/v1/chat/completions") && line.contains("ok 200"), "{line}");
    let v: Value = serde_json::from_str(&jl.next("the last record, as JSON")).unwrap();
    assert_eq!(v["request_id"], first_id.as_str());

    // A record appended now shows up, with its entity counts.
    let body = openai_body("mock/echo", "mail jane.doe@example.com", false);
    assert_eq!(gw.client.post(&chat).json(&body).send().await.unwrap().status(), 200);
    gw.audit_records().await;
    let line = pl.next("the new record");
    assert!(line.contains("mock/echo") && line.contains("EMAIL:1") && line.ends_with(" ms"), "{line}");
    assert!(!line.contains("jane.doe"), "{line}");
    let v: Value = serde_json::from_str(&jl.next("the new record, as JSON")).unwrap();
    assert_eq!(v["seq"], 2);
    assert_eq!(v["entities"]["EMAIL"]["mask"], 1);
    drop((pretty, json));

    let (code, _, err) = audit(&["tail"], &[&gw.audit_path.with_file_name("missing.jsonl")]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.jsonl"), "{err}");
}

/// `veil serve` with `[audit] rotate_bytes` small enough that a few requests fill a file.
async fn serve_rotating(dir: &Path, requests: usize) -> PathBuf {
    let mock = veil_mock::MockProvider::start().await;
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let logs = dir.join("logs");
    std::fs::create_dir(&logs).unwrap();
    let cfg = dir.join("veil.toml");
    std::fs::write(
        &cfg,
        format!(
            "[providers.mock]\nkind = \"openai\"\nbase_url = \"{}\"\n[detect]\nmodel = \"none\"\n\
             [audit]\npath = \"{}\"\nrotate_bytes = 3000\nrotate_age = \"1d\"\n",
            mock.openai_base_url(),
            logs.join("veil-audit.jsonl").display()
        ),
    )
    .unwrap();
    let mut child = KillOnDrop(
        Command::new(VEIL)
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
            .arg(&cfg)
            .env("VEIL_AUDIT_KEY", "rotation-test-key")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !client.get(format!("{base}/readyz")).send().await.is_ok_and(|r| r.status() == 200) {
        assert!(Instant::now() < deadline, "veil did not become ready");
        assert!(child.0.try_wait().unwrap().is_none(), "veil serve exited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for i in 0..requests {
        let body = openai_body("mock/echo", &format!("request {i} for jane.doe@example.com"), false);
        let r = client.post(format!("{base}/v1/chat/completions")).json(&body).send().await.unwrap();
        assert_eq!(r.status(), 200);
    }
    // Every record is written once the writer has had its flush interval; count them.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let n: usize = std::fs::read_dir(&logs)
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap().lines().count())
            .sum();
        if n == requests {
            break;
        }
        assert!(Instant::now() < deadline, "{n} of {requests} records written");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(child);
    logs
}

#[tokio::test]
async fn serve_rotates_by_size_and_verify_checks_the_set() {
    let dir = tempfile::tempdir().unwrap();
    let logs = serve_rotating(dir.path(), 12).await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&logs).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert!(files.len() >= 3, "expected several files: {files:?}");
    assert_eq!(files.last().unwrap().file_name().unwrap(), "veil-audit.jsonl");
    for f in &files {
        assert!(std::fs::metadata(f).unwrap().len() <= 3000, "{} is over rotate_bytes", f.display());
    }
    let verify = |paths: &[&Path]| {
        let out = Command::new(VEIL)
            .args(["audit", "verify"])
            .args(paths)
            .env("VEIL_AUDIT_KEY", "rotation-test-key")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8(out.stdout).unwrap(), String::from_utf8(out.stderr).unwrap())
    };
    let (code, out, err) = verify(&[&logs]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains(&format!("intact: 12 records in {} files", files.len())), "{out}");
    assert!(out.contains("macs checked"), "{out}");
    // The files one by one, as a shell glob gives them, are the same set.
    let each: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
    assert_eq!(verify(&each).0, Some(0));
    // The other tools read the set as one log.
    let (code, out, _) = audit(&["query", "--json"], &[&logs]);
    assert_eq!(code, 0);
    let seqs: Vec<u64> =
        out.lines().map(|l| serde_json::from_str::<Value>(l).unwrap()["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=12).collect::<Vec<u64>>());
    let (code, out, _) = audit(&["stats"], &[&logs]);
    assert_eq!(code, 0);
    assert!(out.contains("requests: 12"), "{out}");

    // A middle file deleted: exit 1, naming the files on both sides of the gap.
    std::fs::remove_file(&files[1]).unwrap();
    let (code, _, err) = verify(&[&logs]);
    assert_eq!(code, Some(1), "{err}");
    let name = |p: &Path| p.file_name().unwrap().to_string_lossy().into_owned();
    assert!(err.contains(&name(&files[0])) && err.contains(&name(&files[2])), "{err}");
    assert!(err.contains("a file is missing between them"), "{err}");
}
