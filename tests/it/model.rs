//! The shipped default model (`models/veil-pii`) end to end: names and street addresses that
//! no pattern can catch are masked on the way to the provider and restored on the way back,
//! in short prompts and after 10,000 tokens of text; the NER queue refuses when full. The
//! model is built into the binary: `veil` uses it from any directory when `[detect] model`
//! is not set, and runs patterns only (with a warning) just for `model = "none"`.

use crate::common::*;
use serde_json::Value;

const MODEL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/models/veil-pii");

fn detect_toml(extra: &str) -> String {
    format!("[detect]\nmodel = \"{MODEL}\"\n{extra}")
}

const NAME: &str = "Margaret Thornton";
const STREET: &str = "42 Elm Street";

fn prompt() -> String {
    format!("Please draft a reply to {NAME}, who lives at {STREET}, Springfield, about her late delivery.")
}

#[tokio::test]
async fn name_and_street_address_are_masked_and_restored() {
    for (route, model) in [("/v1/chat/completions", "mock/echo"), ("/v1/messages", "mocka/echo")] {
        let gw = gateway(&detect_toml("")).await;
        let p = prompt();
        let body =
            if route == "/v1/messages" { anthropic_body(model, &p, false) } else { openai_body(model, &p, false) };
        let (status, v) = gw.post(route, &body).await;
        assert_eq!(status, 200, "{v}");
        let upstream = gw.mock.received();
        assert_eq!(upstream.len(), 1);
        let sent = upstream[0].body.to_string();
        for (value, placeholder) in
            [("Margaret", "[PERSON_"), ("Thornton", "[PERSON_"), ("Elm Street", "[STREET_ADDRESS_")]
        {
            assert!(!sent.contains(value), "{value:?} reached the provider: {sent}");
            assert!(sent.contains(placeholder), "no {placeholder} in {sent}");
        }
        let answer = if route == "/v1/messages" {
            v["content"][0]["text"].as_str().unwrap_or_default().to_string()
        } else {
            v["choices"][0]["message"]["content"].as_str().unwrap_or_default().to_string()
        };
        assert_eq!(answer, format!("You said: {p}"), "the client gets its own words back");
        let recs = gw.audit_records().await;
        let rec = recs.last().unwrap();
        assert!(rec.to_string().contains("ner/veil-pii@"), "audit names the model version: {rec}");
        assert!(rec.to_string().contains("+names@"), "and the name list's: {rec}");
        assert!(!rec.to_string().contains("Thornton"));
    }
}

#[tokio::test]
async fn name_after_ten_thousand_tokens_is_found() {
    let gw = gateway(&detect_toml("")).await;
    // ~10,000 tokens of ordinary text, then the name.
    let filler = "The quarterly report covers revenue, costs and the outlook for the next year. ".repeat(770);
    let p = format!("{filler}\nPlease call {NAME} tomorrow morning about the invoice.");
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", &p, false)).await;
    assert_eq!(status, 200, "{v}");
    let sent = gw.mock.received()[0].body.to_string();
    assert!(!sent.contains("Thornton"), "the name after 10,000 tokens reached the provider");
    assert!(sent.contains("[PERSON_1]"));
    assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {p}"));
}

/// The model folder's name list (`veil_name_lexicon`) turns listed capitalized words into
/// PERSON; `[detect] name_lexicon = false` turns it off. A copy of the shipped model whose
/// list holds an ordinary word and whose gate is 0 makes the effect certain.
#[tokio::test]
async fn name_lexicon_masks_listed_words_and_can_be_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    for f in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(format!("{MODEL}/{f}"), dir.path().join(f)).unwrap();
    }
    let mut c: Value = serde_json::from_str(&std::fs::read_to_string(format!("{MODEL}/config.json")).unwrap()).unwrap();
    c["veil_name_lexicon"] = serde_json::json!({"file": "list.txt", "min_person": 0.0});
    std::fs::write(dir.path().join("config.json"), c.to_string()).unwrap();
    std::fs::write(dir.path().join("list.txt"), "# test list\nquarterly\n").unwrap();
    let p = "Please summarise the Quarterly figures for the board.";
    for (extra, masked) in [("", true), ("name_lexicon = false\n", false)] {
        let gw = gateway(&format!("[detect]\nmodel = \"{}\"\n{extra}", dir.path().display())).await;
        let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", p, false)).await;
        assert_eq!(status, 200, "{v}");
        let sent = gw.mock.received()[0].body.to_string();
        assert_eq!(!sent.contains("Quarterly"), masked, "{extra:?}: {sent}");
        assert_eq!(sent.contains("[PERSON_1]"), masked, "{extra:?}: {sent}");
        assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {p}"));
    }
}

#[tokio::test]
async fn streamed_answers_restore_model_spans() {
    let gw = gateway(&detect_toml("")).await;
    let p = prompt();
    let (status, body) = gw.post_stream("/v1/chat/completions", &openai_body("mock/echo", &p, true)).await;
    assert_eq!(status, 200);
    let (text, _, _) = openai_stream_text(&body);
    assert_eq!(text, format!("You said: {p}"));
    assert!(!gw.mock.received()[0].body.to_string().contains("Thornton"));
}

/// Names as people write them (`ner::names`, and the handle pattern): initials next to a
/// surname, the name after a chain of titles, a chat handle, the account name of a home
/// directory, the owner of a `TODO(...)` and a login after "owner:" reach the provider as
/// placeholders, and the echoed answer comes back with the client's own words.
#[tokio::test]
async fn initials_titles_and_handles_are_masked_and_restored() {
    let gw = gateway(&detect_toml("")).await;
    for (p, values) in [
        ("Mr J. Pemberton of the Home Office will attend.", &["J.", "Pemberton"][..]),
        ("Lord Justice Haversham said the appeal failed.", &["Haversham"]),
        ("@jenny_k and i are going to the mall", &["jenny_k"]),
        ("Heald said the data are ready; his daughter Lensey agreed.", &["Heald", "Lensey"]),
        ("Both Okafor, Lindqvist and Baptiste signed.", &["Okafor", "Lindqvist", "Baptiste"]),
        ("hi im Wojtek, the new tenant", &["Wojtek"]),
        ("im tomasz and i need the keys", &["tomasz"]),
        ("attendees: rahul, sofia", &["rahul", "sofia"]),
        ("My CPF is 123.456.789-09, please update it", &["123.", "789-09"]),
        ("It fails in File \"/home/dmitri/app/main.py\", line 3", &["dmitri"]),
        ("// TODO(rui): drop this branch", &["rui"]),
        ("owner: t.mokoena, assignee: lindiwe.z", &["mokoena", "lindiwe.z"]),
    ] {
        let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", p, false)).await;
        assert_eq!(status, 200, "{v}");
        let sent = gw.mock.received().last().unwrap().body.to_string();
        for value in values {
            assert!(!sent.contains(value), "{value:?} reached the provider: {sent}");
        }
        assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {p}"));
    }
}

/// An intersection (`ner::address`) reaches the provider as one address placeholder, and
/// the answer comes back with the client's words.
#[tokio::test]
async fn an_intersection_is_one_placeholder() {
    let gw = gateway(&detect_toml("")).await;
    let p = "Please send it to the corner of Östbygatan 14 and Sigurmundsson Greens.";
    let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", p, false)).await;
    assert_eq!(status, 200, "{v}");
    let sent = gw.mock.received()[0].body.to_string();
    assert!(sent.contains("Please send it to [STREET_ADDRESS_1]."), "{sent}");
    assert!(!sent.contains("Östbygatan") && !sent.contains("Sigurmundsson"), "{sent}");
    assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {p}"));
}

/// A house number and a street without "Street" or "Road" before a town, and a street named
/// by its type word ("rue", "via"), reach the provider as one address placeholder
/// (`ner::address`), not as a street name beside a number.
#[tokio::test]
async fn a_numbered_street_before_a_town_is_one_placeholder() {
    let gw = gateway(&detect_toml("")).await;
    for (p, values, want) in [
        (
            "Please deliver it to 12 Keizersgracht, Amsterdam.",
            &["Keizersgracht", "12"][..],
            "Please deliver it to [STREET_ADDRESS_1], ",
        ),
        ("Please write to her at 12 rue des Lilas, Lyon.", &["Lilas", "12"], "her at [STREET_ADDRESS_1], "),
        ("Abito in via Roma 10, Milano.", &["via Roma", "10"], "Abito in [STREET_ADDRESS_1], "),
    ] {
        gw.mock.clear();
        let (status, v) = gw.post("/v1/chat/completions", &openai_body("mock/echo", p, false)).await;
        assert_eq!(status, 200, "{v}");
        let sent = gw.mock.received()[0].body.to_string();
        assert!(sent.contains(want), "{sent}");
        for value in values {
            assert!(!sent.contains(value), "{value:?} reached the provider: {sent}");
        }
        assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {p}"));
    }
}

#[tokio::test]
async fn full_ner_queue_refuses_in_the_callers_shape() {
    // A queue of one and batches of one: concurrent requests beyond it are refused, never
    // forwarded unmasked.
    let gw = gateway(&detect_toml("queue_capacity = 1\nmax_batch_requests = 1\n")).await;
    let long = format!("{} {}", "Some words to keep the model busy for a while. ".repeat(400), prompt());
    let body = openai_body("mock/echo", &long, false);
    let calls = (0..12).map(|_| gw.post("/v1/chat/completions", &body));
    let results: Vec<(u16, Value)> = futures::future::join_all(calls).await;
    let refused: Vec<&Value> = results.iter().filter(|(s, _)| *s == 503).map(|(_, v)| v).collect();
    assert!(!refused.is_empty(), "some requests are refused: {:?}", results.iter().map(|r| r.0).collect::<Vec<_>>());
    for v in refused {
        assert!(v["error"]["message"].as_str().is_some(), "OpenAI error shape: {v}");
    }
    let ok = results.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(gw.mock.received().len(), ok, "only masked requests went upstream");
    for r in gw.mock.received() {
        assert!(!r.body.to_string().contains("Thornton"));
    }
}

/// A stand-in for the Hugging Face hub: serves the files of `tests/fixtures/ner/bert` under
/// `/{owner}/{name}/resolve/{revision}/{file}` with the headers and byte ranges the hub uses.
async fn fake_hub() -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    use axum::extract::Path;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse;
    async fn resolve(
        Path((_o, _n, _rev, file)): Path<(String, String, String, String)>,
        headers: HeaderMap,
    ) -> axum::response::Response {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ner/bert");
        let Ok(data) = std::fs::read(format!("{dir}/{file}")) else { return StatusCode::NOT_FOUND.into_response() };
        let len = data.len();
        let (a, b) = headers
            .get("range")
            .and_then(|r| r.to_str().ok())
            .and_then(|r| r.strip_prefix("bytes="))
            .and_then(|r| r.split_once('-'))
            .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
            .unwrap_or((0, len - 1));
        let b = b.min(len - 1);
        (
            StatusCode::PARTIAL_CONTENT,
            [
                ("etag", format!("\"{len}-{file}\"")),
                ("x-repo-commit", "0123456789abcdef0123456789abcdef01234567".to_string()),
                ("content-range", format!("bytes {a}-{b}/{len}")),
            ],
            data[a..=b].to_vec(),
        )
            .into_response()
    }
    let app = axum::Router::new().route("/{owner}/{name}/resolve/{rev}/{*file}", axum::routing::get(resolve));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    (addr, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

#[tokio::test]
async fn models_pull_fills_the_hf_cache_and_detect_then_loads_offline() {
    let (addr, server) = fake_hub().await;
    let cache = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_veil");
    let pull = tokio::process::Command::new(bin)
        .args(["models", "pull", "hf:acme/tiny-ner"])
        .env("HF_ENDPOINT", format!("http://{addr}"))
        .env("HF_HUB_CACHE", cache.path())
        .output()
        .await
        .unwrap();
    server.abort();
    assert!(pull.status.success(), "pull failed: {}", String::from_utf8_lossy(&pull.stderr));
    let folder = String::from_utf8(pull.stdout).unwrap();
    assert!(folder.trim().ends_with("snapshots/0123456789abcdef0123456789abcdef01234567"), "{folder}");

    // Offline now: the hub is gone, the cache is enough.
    let cfg = cache.path().join("veil.toml");
    std::fs::write(&cfg, "[detect]\nmodel = \"hf:acme/tiny-ner\"\nmin_score = 0.0\n").unwrap();
    let mut child = tokio::process::Command::new(bin)
        .args(["detect", "--jsonl", "--config"])
        .arg(&cfg)
        .env("HF_HUB_CACHE", cache.path())
        .env_remove("HF_ENDPOINT")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use tokio::io::AsyncWriteExt;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(b"{\"id\": 1, \"text\": \"John Smith lives at 221B Baker Street, London.\"}\n").await.unwrap();
    }
    let out = child.wait_with_output().await.unwrap();
    assert!(out.status.success(), "detect failed: {}", String::from_utf8_lossy(&out.stderr));
    let line: Value = serde_json::from_slice(&out.stdout).unwrap();
    let spans = line["spans"].as_array().unwrap();
    assert!(spans.iter().any(|s| s["detector"] == "ner"), "the random tiny model flags something: {line}");

    // Not cached and no download allowed: start-up is refused with what to do.
    std::fs::write(&cfg, "[detect]\nmodel = \"hf:acme/absent\"\n").unwrap();
    let out = tokio::process::Command::new(bin)
        .args(["redact", "--config"])
        .arg(&cfg)
        .env("HF_HUB_CACHE", cache.path())
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("veil models pull hf:acme/absent"), "{err}");
}

#[tokio::test]
async fn before_the_model_is_loaded_readyz_fails_and_requests_are_refused() {
    use std::sync::Arc;
    use veil::mask::Detector;
    let ner: Arc<dyn Detector> = Arc::new(veil::ner::NerDetector::new());
    let patterns: Arc<dyn Detector> =
        Arc::new(veil::mask::patterns::PatternDetector::new(&Default::default()).unwrap());
    let gw = gateway_with("", Some(vec![patterns, ner])).await;
    gw.state.set_ready(false);
    let r = gw.client.get(gw.url("/readyz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 503);
    let r = gw.client.get(gw.url("/healthz")).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let (status, v) = gw.post("/v1/messages", &anthropic_body("mocka/echo", &prompt(), false)).await;
    assert_eq!(status, 503, "{v}");
    assert_eq!(v["type"], "error", "Anthropic error shape: {v}");
    assert!(gw.mock.received().is_empty(), "nothing is forwarded while the model loads");
}

/// `veil serve` loads the model beside the running server: /readyz turns 200 once it is
/// loaded and the server keeps serving; a model that cannot load stops it with exit code 2.
#[tokio::test]
async fn serve_becomes_ready_after_loading_and_stops_on_a_broken_model() {
    let dir = tempfile::tempdir().unwrap();
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/ner/bert");
    let cfg = dir.path().join("veil.toml");
    std::fs::write(&cfg, format!("[detect]\nmodel = \"{fixture}\"\n[audit]\nenabled = false\n")).unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--config"])
        .arg(&cfg)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = false;
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await {
            if r.status() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(ready, "/readyz never turned 200");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(child.try_wait().unwrap().is_none(), "veil stopped after loading the model");
    let r = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    child.kill().await.unwrap();

    // A folder whose weights do not match its config: serve exits 2 naming the file.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    for f in ["tokenizer.json", "model.safetensors"] {
        std::fs::copy(format!("{fixture}/{f}"), broken.join(f)).unwrap();
    }
    let mut c: Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{fixture}/config.json")).unwrap()).unwrap();
    c["hidden_size"] = 64.into();
    std::fs::write(broken.join("config.json"), c.to_string()).unwrap();
    std::fs::write(&cfg, format!("[detect]\nmodel = \"{}\"\n[audit]\nenabled = false\n", broken.display())).unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&cfg)
        .output()
        .await
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("model.safetensors"));
}

/// Runs the built `veil` in `dir` (no `VEIL_CONFIG`, no audit key in the environment).
fn veil_in(dir: &std::path::Path) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_veil"));
    cmd.current_dir(dir).env_remove("VEIL_CONFIG").env_remove("VEIL_AUDIT_KEY").kill_on_drop(true);
    cmd
}

async fn redact_in(dir: &std::path::Path, args: &[&str], text: &str) -> std::process::Output {
    use tokio::io::AsyncWriteExt;
    let mut child = veil_in(dir)
        .arg("redact")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(text.as_bytes()).await.unwrap();
    child.wait_with_output().await.unwrap()
}

/// `veil serve --listen 127.0.0.1:<free port>` in `dir`; waits for /readyz to say 200 and
/// returns its body, then stops the server by its PID and returns what it logged.
async fn serve_in(dir: &std::path::Path, args: &[&str]) -> (Value, String) {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut child = veil_in(dir)
        .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let client = reqwest::Client::new();
    let mut ready = None;
    for _ in 0..300 {
        if let Ok(r) = client.get(format!("http://127.0.0.1:{port}/readyz")).send().await {
            if r.status() == 200 {
                ready = Some(r.json::<Value>().await.unwrap());
                break;
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    child.start_kill().unwrap();
    let out = child.wait_with_output().await.unwrap();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    (ready.unwrap_or_else(|| panic!("/readyz never turned 200: {log}")), log)
}

/// The default model is built into the binary: from a directory without `models/`, and
/// without any config, `redact` masks a name only the model finds.
#[tokio::test]
async fn the_built_in_model_masks_from_any_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = redact_in(dir.path(), &[], "Hi, I'm Priya Raghunathan from Acme Corp\n").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let masked = String::from_utf8(out.stdout).unwrap();
    assert!(!masked.contains("Raghunathan"), "{masked}");
    assert!(masked.contains("[PERSON_1]"), "{masked}");
    // The full stop the model may run an e-mail address on into is not a second e-mail.
    let out = redact_in(dir.path(), &[], "Mail a@b.io. Thanks").await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), "Mail [EMAIL_1]. Thanks");
}

/// `serve` with no model setting runs the built-in model and says so, at start-up and in
/// /readyz; `model = "none"` runs patterns only and warns.
#[tokio::test]
async fn serve_reports_its_detectors_and_warns_about_patterns_only() {
    let dir = tempfile::tempdir().unwrap();
    // A git work tree: the audit key Veil writes beside the log is named in the warning.
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    let (ready, log) = serve_in(dir.path(), &[]).await;
    assert_eq!(ready["status"], "ready", "{ready}");
    let detectors: Vec<&str> = ready["detectors"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    assert!(detectors.iter().any(|d| d.starts_with("ner/veil-pii@") && d.contains("+names@")), "{ready}");
    assert!(detectors.iter().any(|d| d.starts_with("pattern/")), "{ready}");
    assert!(log.contains("NER model loaded") && log.contains("embedded"), "{log}");
    assert!(!log.contains("patterns only"), "{log}");
    let key_file = dir.path().join("veil-audit.jsonl.key");
    let key = std::fs::read_to_string(&key_file).unwrap();
    assert!(log.contains("git work tree") && log.contains("veil-audit.jsonl.key"), "{log}");
    assert!(!log.contains(key.trim()), "the key itself is never logged");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key_file).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let cfg = dir.path().join("veil.toml");
    std::fs::write(&cfg, "[detect]\nmodel = \"none\"\n[audit]\nenabled = false\n").unwrap();
    let (ready, log) = serve_in(dir.path(), &["--config", cfg.to_str().unwrap()]).await;
    assert_eq!(ready["detectors"], serde_json::json!(["pattern/1"]), "{ready}");
    assert!(log.contains("WARN") && log.contains("patterns only"), "{log}");
}

/// A default model that cannot load stops start-up (exit 2) with what to configure; it
/// never falls back to patterns silently. A CUDA device in a build without CUDA is one way.
#[tokio::test]
async fn a_built_in_model_that_cannot_load_stops_start_up() {
    if cfg!(feature = "cuda") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("veil.toml");
    std::fs::write(&cfg, "[detect]\ndevice = \"cuda:0\"\n").unwrap();
    let out = redact_in(dir.path(), &["--config", cfg.to_str().unwrap()], "Hi Priya").await;
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("built-in default model") && err.contains("model = \"none\""), "{err}");
    assert!(out.stdout.is_empty(), "nothing is printed unmasked");
}

/// A name said again (`ner::names::propagate`): the surname of a full name in one message is
/// masked where it stands alone in a later message of the same request, which the model
/// does not read as a name by itself; the answer (the echo of the last message) comes back
/// with it restored.
#[tokio::test]
async fn a_name_from_one_message_is_masked_in_the_next() {
    let gw = gateway(&detect_toml("")).await;
    // Alone, the later message is not masked at all: the model misses the surname.
    let alone = "Send it to Heald by noon.";
    let (status, _) = gw.post("/v1/chat/completions", &openai_body("mock/echo", alone, false)).await;
    assert_eq!(status, 200);
    assert!(gw.mock.received().last().unwrap().body.to_string().contains("Heald"), "the model alone misses it");
    let body = serde_json::json!({"model": "mock/echo", "messages": [
        {"role": "user", "content": "I am writing about the claim of Mr. Thomas Heald."},
        {"role": "assistant", "content": "Understood. What should I do with it?"},
        {"role": "user", "content": alone},
    ]});
    let (status, v) = gw.post("/v1/chat/completions", &body).await;
    assert_eq!(status, 200, "{v}");
    let sent = gw.mock.received().last().unwrap().body.to_string();
    assert!(!sent.contains("Heald"), "the surname reached the provider: {sent}");
    assert_eq!(v["choices"][0]["message"]["content"].as_str().unwrap(), format!("You said: {alone}"));
}
