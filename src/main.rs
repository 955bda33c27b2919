//! The `veil` binary: CLI → config → telemetry → serve, or one of the offline commands.
//! Exit codes follow docs/interface.md: 2 for bad usage or a bad config.

use clap::{Parser, Subcommand};
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use veil::config::{Config, ProcessEnv};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "veil",
    version,
    about = "Privacy sidecar for LLM traffic: masks personal data before it reaches the provider"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway.
    #[command(after_help = SERVE_HELP)]
    Serve {
        /// TOML config file (all keys optional). Without --config or VEIL_CONFIG no file is
        /// read: Veil runs on the built-in defaults.
        #[arg(long, env = "VEIL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Listen address; overrides server.listen [default: 127.0.0.1:8787].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Mask one text (FILE or stdin) and print it; never uses the network.
    Redact {
        /// TOML config file: the same detectors and policy as `veil serve` with it.
        #[arg(long, env = "VEIL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// Print a JSON object with the masked text and the entities found.
        #[arg(long)]
        json: bool,
        /// The text to mask, as UTF-8 [default: stdin].
        #[arg(value_name = "FILE")]
        file: Option<PathBuf>,
    },
    /// Batch detection for evaluation: JSON Lines {"id","text"} in, {"id","spans"} out.
    Detect {
        /// JSON Lines, the default and only format (accepted for compatibility).
        #[arg(long)]
        jsonl: bool,
        /// TOML config file: the same detectors and policy as `veil serve` with it.
        #[arg(long, env = "VEIL_CONFIG", value_name = "FILE")]
        config: Option<PathBuf>,
        /// JSON Lines, one {"id": ..., "text": ...} per line [default: stdin].
        #[arg(value_name = "INPUT")]
        input: Option<PathBuf>,
    },
    /// Audit-log tools.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// NER model tools.
    Models {
        #[command(subcommand)]
        command: ModelsCommand,
    },
}

/// `veil serve --help`: where the config comes from, what it defaults to, the variables.
const SERVE_HELP: &str = "\
Config:
  --config FILE, else the file $VEIL_CONFIG names, else none: no file is searched for.
  Without a file Veil listens on 127.0.0.1:8787, masks with the default model built into
  the binary plus the patterns, knows the built-in providers (openai, anthropic, mistral,
  groq, ...) and writes the audit log to ./veil-audit.jsonl. docs/interface.md lists every key.

Environment:
  VEIL_CONFIG                      the config file (--config wins)
  OPENAI_API_KEY, ANTHROPIC_API_KEY, ...
                                   each provider's key ([providers.NAME] api_key_env)
  VEIL_AUDIT_KEY                   the audit log's HMAC key ([audit] key_env); unset: a key
                                   file beside the log (<log>.key), created on first start
  RUST_LOG                         log filter [default: info]
  HF_HUB_CACHE, HF_HOME, HF_TOKEN  Hugging Face models (model = \"hf:owner/name\")";

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download a model into the Hugging Face cache ahead of time: hf:owner/name[@revision].
    Pull { spec: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and record format of a log, or of a rotated set across its
    /// files; exit 0 intact, 1 tampered, 2 unreadable.
    Verify {
        /// Log files, folders (every log in them) or patterns like 'logs/veil-audit*'.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Summarise requests, entities, providers and latency.
    Stats {
        /// Log files, folders or patterns, read as one log.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Print the last records, then each new one as it is written (follows rotation).
    Tail {
        /// The log the server writes ([audit] path).
        file: PathBuf,
        /// Records to print first.
        #[arg(short = 'n', long = "lines", value_name = "N", default_value_t = 10)]
        lines: usize,
        /// Print each record's raw JSON line instead of a summary.
        #[arg(long)]
        json: bool,
    },
    /// Print the records that match the filters, as a table or JSON lines.
    Query {
        /// Log files, folders or patterns, read oldest first.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        #[command(flatten)]
        filter: FilterArgs,
        /// Print the matching records' raw JSON lines instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write the matching records as CSV to stdout: one row per record.
    Export {
        /// Log files, folders or patterns, read oldest first.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// CSV (the only format).
        #[arg(long, required = true)]
        csv: bool,
        #[command(flatten)]
        filter: FilterArgs,
    },
}

/// Record filters, the same parameters as `veil::audit::Query::set` takes.
#[derive(clap::Args)]
struct FilterArgs {
    /// Records at or after: a duration back from now (30m, 1h, 2d), a date or an RFC 3339 time.
    #[arg(long, value_name = "WHEN")]
    since: Option<String>,
    /// Records before: same forms as --since.
    #[arg(long, value_name = "WHEN")]
    until: Option<String>,
    /// Records with an entity of this label (repeat for any of several).
    #[arg(long = "label", value_name = "LABEL")]
    labels: Vec<String>,
    /// Records sent to this provider (repeatable).
    #[arg(long = "provider", value_name = "NAME")]
    providers: Vec<String>,
    /// Records for this model, `gpt-4o` or `openai/gpt-4o` (repeatable).
    #[arg(long = "model", value_name = "MODEL")]
    models: Vec<String>,
    /// Records of this caller key id (repeatable).
    #[arg(long = "key", value_name = "KEY_ID")]
    keys: Vec<String>,
    /// ok, upstream_error, refused, blocked, cancelled or error (repeatable).
    #[arg(long = "outcome", value_name = "OUTCOME")]
    outcomes: Vec<String>,
    /// At most N records: the first N, or the newest N with --newest-first.
    #[arg(long, value_name = "N")]
    limit: Option<String>,
    /// Newest records first.
    #[arg(long)]
    newest_first: bool,
}

impl FilterArgs {
    fn query(&self) -> Result<veil::audit::Query, veil::audit::QueryError> {
        let now = chrono::Utc::now();
        let mut q = veil::audit::Query::default();
        let single = [("since", &self.since), ("until", &self.until), ("limit", &self.limit)];
        for (param, value) in single {
            if let Some(v) = value {
                q.set(param, v, now)?;
            }
        }
        let many = [
            ("label", &self.labels),
            ("provider", &self.providers),
            ("model", &self.models),
            ("key", &self.keys),
            ("outcome", &self.outcomes),
        ];
        for (param, values) in many {
            for v in values {
                q.set(param, v, now)?;
            }
        }
        if self.newest_first {
            q.set("order", "newest", now)?;
        }
        Ok(q)
    }
}

fn load_config(path: Option<&std::path::Path>) -> Result<Config, ExitCode> {
    Config::load(path, &ProcessEnv).map_err(|e| {
        eprintln!("veil: config error: {e}");
        ExitCode::from(2)
    })
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime starts; this is a bug")
}

/// mimalloc commits whole arenas up front and purges freed pages late by default; under the
/// load test that doubled the server's peak RSS (66 MiB → 31 MiB with both off, at the same
/// throughput). mimalloc reads these options when the process starts, before `main`, so
/// `veil serve` re-executes itself once with them set, unless the operator set them.
#[cfg(unix)]
fn tune_allocator() {
    use std::os::unix::process::CommandExt;
    const MARK: &str = "VEIL_ALLOCATOR_TUNED";
    let serving = std::env::args_os().nth(1).is_some_and(|a| a == "serve");
    if !serving || std::env::var_os(MARK).is_some() {
        return;
    }
    let Ok(exe) = std::env::current_exe() else { return };
    let mut cmd = std::process::Command::new(exe);
    cmd.args(std::env::args_os().skip(1)).env(MARK, "1");
    for (var, value) in [("MIMALLOC_ARENA_EAGER_COMMIT", "0"), ("MIMALLOC_PURGE_DELAY", "0")] {
        if std::env::var_os(var).is_none() {
            cmd.env(var, value);
        }
    }
    // `exec` returns only on failure; then run as we are.
    let _ = cmd.exec();
}

#[cfg(not(unix))]
fn tune_allocator() {}

/// candle's CPU thread pool spins after each op (25k rounds by default) and steals the
/// second core from the next matmul; not spinning was 8–25 % faster end to end here. And
/// unless RAYON_NUM_THREADS is set, candle counts physical cores by reading /proc/cpuinfo on
/// every matmul (~3 % of a forward pass).
fn tune_candle() {
    const SPIN: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
    const THREADS: &str = "RAYON_NUM_THREADS";
    // Single-threaded here: nothing else reads or writes the environment yet.
    if std::env::var_os(SPIN).is_none() {
        std::env::set_var(SPIN, "0");
    }
    if std::env::var_os(THREADS).is_none() {
        let n = std::thread::available_parallelism().map(std::num::NonZeroUsize::get).unwrap_or(1);
        std::env::set_var(THREADS, n.to_string());
    }
}

fn main() -> ExitCode {
    tune_allocator();
    tune_candle();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { config, listen } => {
            let mut cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            if let Some(l) = listen {
                match l.parse() {
                    Ok(addr) => cfg.server.listen = addr,
                    Err(_) => {
                        eprintln!("veil: --listen {l:?} is not an address like 127.0.0.1:8787");
                        return ExitCode::from(2);
                    }
                }
            }
            let json = cfg.server.log_json.unwrap_or_else(|| !std::io::IsTerminal::is_terminal(&std::io::stderr()));
            veil::telemetry::init_logging(json);
            match runtime().block_on(veil::serve::serve(cfg)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = format!("{e:#}"), "veil stopped");
                    eprintln!("veil: {e:#}");
                    ExitCode::from(e.exit_code())
                }
            }
        }
        Command::Redact { config, json, file } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let mut text = String::new();
            let read = match &file {
                Some(p) => std::fs::read_to_string(p).map(|t| text = t),
                None => std::io::stdin().read_to_string(&mut text).map(|_| ()),
            };
            if let Err(e) = read {
                eprintln!(
                    "veil: cannot read {}: {e}",
                    file.as_ref().map_or("stdin".into(), |p| p.display().to_string())
                );
                return ExitCode::from(2);
            }
            let masker = match veil::cli::masker_for(&cfg) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("veil: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let result = runtime().block_on(veil::cli::redact(&masker, &text, json));
            match result {
                Ok(out) => {
                    #[allow(clippy::print_stdout)]
                    {
                        if json {
                            println!("{out}");
                        } else {
                            print!("{out}");
                        }
                    }
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("veil: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Detect { jsonl: _, config, input } => {
            let cfg = match load_config(config.as_deref()) {
                Ok(c) => c,
                Err(code) => return code,
            };
            let reader: Box<dyn std::io::BufRead> = match &input {
                Some(p) => match std::fs::File::open(p) {
                    Ok(f) => Box::new(BufReader::new(f)),
                    Err(e) => {
                        eprintln!("veil: cannot read {}: {e}", p.display());
                        return ExitCode::from(2);
                    }
                },
                None => Box::new(std::io::stdin().lock()),
            };
            let masker = match veil::cli::masker_for(&cfg) {
                Ok(m) => m,
                Err(e) => {
                    eprintln!("veil: {e:#}");
                    return ExitCode::from(2);
                }
            };
            let result = runtime().block_on(async {
                let out = std::io::BufWriter::new(std::io::stdout().lock());
                veil::cli::detect_jsonl(&masker, reader, out, 64).await.map_err(anyhow::Error::from)
            });
            match result {
                Ok(_) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("veil: {e:#}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Audit { command } => audit_command(command),
        Command::Models { command: ModelsCommand::Pull { spec } } => models_pull(&spec),
    }
}

fn models_pull(spec: &str) -> ExitCode {
    let setting = match veil::config::parse_model_setting(spec) {
        Ok(veil::config::ModelSetting::Hub { repo, revision }) => (repo, revision),
        _ => {
            eprintln!("veil: models pull: {spec:?}: expected hf:owner/name[@revision]");
            return ExitCode::from(2);
        }
    };
    match runtime().block_on(veil::ner::hub::pull(&setting.0, setting.1.as_deref())) {
        Ok(dir) => {
            #[allow(clippy::print_stdout)]
            {
                println!("{}", dir.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("veil: {e:#}");
            ExitCode::from(1)
        }
    }
}

fn audit_command(cmd: AuditCommand) -> ExitCode {
    match cmd {
        AuditCommand::Verify { files } => audit_verify(&files),
        AuditCommand::Stats { files } => {
            let read = audit_files(&files).and_then(|f| veil::audit::stats_files(&f).map_err(|e| report_read(&e)));
            match read {
                Ok(report) => {
                    #[allow(clippy::print_stdout)]
                    {
                        println!("{report}");
                    }
                    ExitCode::SUCCESS
                }
                Err(code) => code,
            }
        }
        AuditCommand::Tail { file, lines, json } => audit_tail(&file, lines, json),
        AuditCommand::Query { files, filter, json } => audit_query(&files, &filter, json),
        AuditCommand::Export { files, csv: _, filter } => audit_export(&files, &filter),
    }
}

fn report_read(e: &veil::audit::VerifyError) -> ExitCode {
    eprintln!("veil: {e}");
    ExitCode::from(2)
}

/// The files the arguments name, every set oldest first (exit 2 if one is missing).
fn audit_files(args: &[PathBuf]) -> Result<Vec<PathBuf>, ExitCode> {
    let sets = veil::audit::collect_sets(args).map_err(|e| report_read(&e))?;
    Ok(sets.iter().flat_map(veil::audit::LogSet::paths).collect())
}

fn audit_query_args(filter: &FilterArgs) -> Result<veil::audit::Query, ExitCode> {
    filter.query().map_err(|e| {
        match e {
            veil::audit::QueryError::Invalid { .. } => eprintln!("veil: --{e}"),
            veil::audit::QueryError::Unknown(_) => eprintln!("veil: {e}"),
        }
        ExitCode::from(2)
    })
}

fn audit_verify(args: &[PathBuf]) -> ExitCode {
    let sets = match veil::audit::collect_sets(args) {
        Ok(s) => s,
        Err(e) => return report_read(&e),
    };
    let key_env = std::env::var("VEIL_AUDIT_KEY_ENV").unwrap_or_else(|_| "VEIL_AUDIT_KEY".into());
    let mut worst = 0;
    for set in &sets {
        let key = veil::audit::verify_key_for(&set.active, &key_env, &ProcessEnv);
        match veil::audit::verify_set(set, key.as_deref()) {
            Ok(report) => {
                #[allow(clippy::print_stdout)]
                {
                    if sets.len() > 1 {
                        println!("{}: {report}", set.active.display());
                    } else {
                        println!("{report}");
                    }
                }
            }
            Err(e) => {
                eprintln!("veil: {e}");
                worst = worst.max(e.exit_code());
            }
        }
    }
    ExitCode::from(worst as u8)
}

/// The filters and the files of `audit query` and `audit export`.
fn audit_query_and_files(
    args: &[PathBuf],
    filter: &FilterArgs,
) -> Result<(veil::audit::Query, Vec<PathBuf>), ExitCode> {
    Ok((audit_query_args(filter)?, audit_files(args)?))
}

fn audit_query(args: &[PathBuf], filter: &FilterArgs, json: bool) -> ExitCode {
    use std::io::Write;
    use std::ops::ControlFlow;
    let (query, files) = match audit_query_and_files(args, filter) {
        Ok(qf) => qf,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let mut rows = Vec::new();
    let result = veil::audit::run_query(&files, &query, |e| {
        if json {
            if writeln!(out, "{}", e.line).is_err() {
                return ControlFlow::Break(());
            }
        } else {
            rows.push(e.record.clone());
        }
        ControlFlow::Continue(())
    });
    let stats = match result {
        Ok(s) => s,
        Err(e) => return report_read(&e),
    };
    if !json {
        let _ = out.write_all(veil::audit::format_table(&rows).as_bytes());
    }
    let _ = out.flush();
    eprintln!("{} of {} records match", stats.matched, stats.records);
    if stats.malformed_lines > 0 {
        eprintln!("skipped {} lines that are not records (run `veil audit verify`)", stats.malformed_lines);
    }
    ExitCode::SUCCESS
}

fn audit_export(args: &[PathBuf], filter: &FilterArgs) -> ExitCode {
    use std::io::Write;
    use std::ops::ControlFlow;
    let (query, files) = match audit_query_and_files(args, filter) {
        Ok(qf) => qf,
        Err(code) => return code,
    };
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if veil::audit::write_csv_header(&mut out).is_err() {
        return ExitCode::from(1);
    }
    let mut failed = false;
    let result = veil::audit::run_query(&files, &query, |e| {
        if veil::audit::write_csv_row(&mut out, e).is_err() {
            failed = true;
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    });
    match result {
        Err(e) => report_read(&e),
        Ok(_) if failed || out.flush().is_err() => ExitCode::from(1),
        Ok(stats) => {
            if stats.malformed_lines > 0 {
                eprintln!("skipped {} lines that are not records (run `veil audit verify`)", stats.malformed_lines);
            }
            ExitCode::SUCCESS
        }
    }
}

fn audit_tail(file: &std::path::Path, lines: usize, json: bool) -> ExitCode {
    use std::io::Write;
    use std::ops::ControlFlow;
    let opts = veil::audit::TailOptions { last: lines, ..Default::default() };
    // Stdout is line-buffered: each record shows up as it is printed.
    let mut out = std::io::stdout().lock();
    let result = veil::audit::tail(
        file,
        &opts,
        |line| {
            let written = if json {
                out.write_all(line).and_then(|()| out.write_all(b"\n"))
            } else {
                match veil::audit::Entry::parse(line) {
                    Some(e) => writeln!(out, "{}", veil::audit::format_line(&e.record)),
                    None => {
                        eprintln!("veil: skipped a line that is not an audit record");
                        Ok(())
                    }
                }
            };
            // The reader went away (a closed pipe): stop.
            if written.and_then(|()| out.flush()).is_err() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        },
        &|| false,
    );
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report_read(&e),
    }
}
