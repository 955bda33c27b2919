//! `veil-mock`: the mock LLM provider of `veil_mock` as a standalone server, for load
//! tests and SDK end-to-end tests. Recording is off unless `--record FILE` is given. Prints `listening on http://ADDR` on
//! stdout once it accepts connections, then serves until SIGTERM or Ctrl-C.

use clap::Parser;
use std::io::Write;
use std::net::SocketAddr;
use veil_mock::{serve, MockOptions, MockState};

#[derive(Debug, Parser)]
#[command(name = "veil-mock", about = "Mock OpenAI/Anthropic/Azure OpenAI provider for tests and benchmarks")]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Record every request (path and JSON body) as a line of this file.
    #[arg(long)]
    record: Option<std::path::PathBuf>,
    /// Print the SigV4 headers of a POST of `--body` to this Bedrock mock URL (signed with
    /// the mock's test credentials, `content-type: application/json`) and exit: for load
    /// tests that cannot sign.
    #[arg(long, value_name = "URL", requires = "body")]
    sign_bedrock: Option<String>,
    /// The body file for `--sign-bedrock`.
    #[arg(long, value_name = "FILE")]
    body: Option<std::path::PathBuf>,
    /// The region for `--sign-bedrock`.
    #[arg(long, default_value = "us-east-1")]
    region: String,
}

#[tokio::main(flavor = "multi_thread")]
#[allow(clippy::print_stdout)]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if let (Some(url), Some(body)) = (&args.sign_bedrock, &args.body) {
        let body = std::fs::read(body)?;
        let headers =
            veil_mock::bedrock::sign_for_load_test(url, &body, &args.region).map_err(std::io::Error::other)?;
        for (name, value) in headers {
            println!("{name}: {value}");
        }
        return Ok(());
    }
    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let addr = listener.local_addr()?;
    let state = match &args.record {
        Some(path) => MockState::recording_to(path)?,
        None => MockState::new(MockOptions { record: false }),
    };
    println!("listening on http://{addr}");
    std::io::stdout().flush()?;
    serve(listener, state, shutdown_signal()).await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            eprintln!("veil-mock: cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                eprintln!("veil-mock: cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
