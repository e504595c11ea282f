//! The `gans` command: the course's code without Jupyter.

use anyhow::Result;
use clap::{Parser, Subcommand};
use gans::prelude::*;

#[derive(Parser)]
#[command(
    name = "gans",
    version,
    about = "Generative Adversarial Networks, the course's code on the command line"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Which device training would use, the libtorch in use, and which datasets are installed.
    Info {
        /// Device to check: auto, cpu, cuda or cuda:N.
        #[arg(long, default_value = "auto")]
        device: String,
    },
}

fn main() {
    if let Err(e) = run(Cli::parse()) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Info { device } => info(&device),
    }
}

fn info(device_name: &str) -> Result<()> {
    println!("gans {}", env!("CARGO_PKG_VERSION"));
    println!("libtorch: {}", gans::device::TORCH_LIB_DIR);
    println!("CUDA backend: {:?}", gans::device::load_cuda());
    println!("tch::Cuda::is_available(): {}", tch::Cuda::is_available());
    println!("CUDA devices: {}", tch::Cuda::device_count());
    let device = parse_device(device_name)?;
    // `auto` already printed its choice (see `gans::device()`); say it for an explicit device.
    if device_name != "auto" {
        println!("gans: {}", describe(device));
    }
    // A real operation on the chosen device, so that "available" means "works".
    let x = Tensor::randn([256, 256], (Kind::Float, device));
    let y = x.matmul(&x.transpose(0, 1)).trace().double_value(&[]);
    println!("check: trace(x xᵀ) of a 256×256 normal matrix on {device:?} = {y:.1} (≈ 65536)");
    println!("data folder: {}", data::data_dir().display());
    for (name, file) in [
        ("mnist", "mnist/0.json"),
        ("fashion-mnist", "fashion-mnist/train-images-idx3-ubyte.gz"),
        ("emoji", "emoji/emoji.json"),
        ("fonts", "fonts"),
    ] {
        let path = data::data_dir().join(file);
        let state = if path.exists() {
            "installed"
        } else {
            "missing (run `make data`)"
        };
        println!("  {name:<14} {state}");
    }
    Ok(())
}
