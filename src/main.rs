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
    Serve {
        /// TOML config file (all keys optional).
        #[arg(long, env = "VEIL_CONFIG")]
        config: Option<PathBuf>,
        /// Listen address, overrides server.listen.
        #[arg(long)]
        listen: Option<String>,
    },
    /// Mask one text (FILE or stdin) and print it; never uses the network.
    Redact {
        #[arg(long, env = "VEIL_CONFIG")]
        config: Option<PathBuf>,
        /// Print a JSON object with the masked text and the entities found.
        #[arg(long)]
        json: bool,
        file: Option<PathBuf>,
    },
    /// Batch detection for evaluation: JSON lines {"id","text"} in, spans out.
    Detect {
        /// Read and write JSON Lines (the only format).
        #[arg(long, required = true)]
        jsonl: bool,
        #[arg(long, env = "VEIL_CONFIG")]
        config: Option<PathBuf>,
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

#[derive(Subcommand)]
enum ModelsCommand {
    /// Download a model into the Hugging Face cache ahead of time: hf:owner/name[@revision].
    Pull { spec: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check the hash chain and record format; exit 0 intact, 1 tampered, 2 unreadable.
    Verify { file: PathBuf },
    /// Summarise requests, entities, providers and latency.
    Stats { file: PathBuf },
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
        AuditCommand::Verify { file } => {
            let key_env = std::env::var("VEIL_AUDIT_KEY_ENV").unwrap_or_else(|_| "VEIL_AUDIT_KEY".into());
            let key = veil::audit::verify_key_for(&file, &key_env, &ProcessEnv);
            match veil::audit::verify(&file, key.as_deref()) {
                Ok(report) => {
                    #[allow(clippy::print_stdout)]
                    {
                        println!("{report}");
                    }
                    ExitCode::SUCCESS
                }
                Err(e @ veil::audit::VerifyError::Broken { .. }) => {
                    eprintln!("veil: audit log {} is broken: {e}", file.display());
                    ExitCode::from(1)
                }
                Err(e) => {
                    eprintln!("veil: {e}");
                    ExitCode::from(2)
                }
            }
        }
        AuditCommand::Stats { file } => match veil::audit::stats(&file) {
            Ok(report) => {
                #[allow(clippy::print_stdout)]
                {
                    println!("{report}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("veil: {e}");
                ExitCode::from(2)
            }
        },
    }
}
