//! Where tensors live, and how runs are made reproducible.
//!
//! [`device()`] answers "CUDA if there is a GPU, else the CPU" and prints which one it chose, once
//! per process. Before asking libtorch, it loads `libtorch_cuda.so` into the process
//! ([`load_cuda`]): `rustc` links with `--as-needed`, which drops that library from every binary
//! and every notebook cell because no Rust symbol refers to it, and then libtorch reports no CUDA
//! even on a GPU machine. Loading it by hand registers the CUDA backend.
//!
//! [`seed`] seeds libtorch's generator and returns a seeded Rust RNG for everything else
//! (shuffling, augmentation), so that the same seed gives the same run.

use std::sync::OnceLock;

use anyhow::{Context, Result};
use rand::SeedableRng;
use rand::rngs::StdRng;
use tch::Device;

/// Folder of the libtorch shared libraries this crate was built against (set by `build.rs`).
pub const TORCH_LIB_DIR: &str = env!("GANS_TORCH_LIB");

/// What [`load_cuda`] found; computed once per process.
static CUDA_LIBRARY: OnceLock<CudaLibrary> = OnceLock::new();

/// The outcome of looking for libtorch's CUDA backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CudaLibrary {
    /// `libtorch_cuda.so` is loaded; CUDA works if a driver and a GPU are present.
    Loaded(String),
    /// This libtorch was built without CUDA (a CPU-only wheel): nothing to load.
    NotInThisLibtorch,
    /// The library is there but could not be loaded; the message says why.
    Failed(String),
}

/// Loads `libtorch_cuda.so` with `RTLD_GLOBAL` so libtorch registers its CUDA backend.
///
/// Safe to call many times: the work happens once. Called by [`device`] and [`cuda_available`];
/// call it yourself only before using `tch::Cuda` directly.
pub fn load_cuda() -> &'static CudaLibrary {
    CUDA_LIBRARY.get_or_init(|| {
        // The folder of the libtorch this process runs on, which is not always the one it was
        // built against: a binary built on one machine and run on another with
        // `LD_LIBRARY_PATH` finds its libtorch elsewhere, and the CUDA backend must come from
        // that same copy.
        let folder = torch_lib_dir_in_use().or_else(|| {
            (!TORCH_LIB_DIR.is_empty()).then(|| std::path::PathBuf::from(TORCH_LIB_DIR))
        });
        let path = match folder {
            Some(folder) => {
                let path = folder.join("libtorch_cuda.so");
                if !path.exists() {
                    return CudaLibrary::NotInThisLibtorch;
                }
                path
            }
            // Unknown folder: let the dynamic loader search LD_LIBRARY_PATH.
            None => std::path::PathBuf::from("libtorch_cuda.so"),
        };
        use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
        // SAFETY: loading libtorch's own CUDA library runs its static initialisers, which only
        // register the CUDA backend with the libtorch already in this process.
        match unsafe { Library::open(Some(&path), RTLD_NOW | RTLD_GLOBAL) } {
            Ok(library) => {
                // Keep it loaded for the life of the process: libtorch holds pointers into it.
                std::mem::forget(library);
                CudaLibrary::Loaded(path.display().to_string())
            }
            Err(e) if path.parent().is_none_or(|p| p.as_os_str().is_empty()) => {
                CudaLibrary::Failed(format!("{e} (the libtorch folder is unknown)"))
            }
            Err(e) => CudaLibrary::Failed(e.to_string()),
        }
    })
}

/// The folder holding the `libtorch_cpu.so` mapped into this process (read from
/// `/proc/self/maps`), or `None` where that file cannot be read.
pub fn torch_lib_dir_in_use() -> Option<std::path::PathBuf> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    maps.lines()
        .filter_map(|line| line.split_whitespace().nth(5))
        .find(|path| path.ends_with("/libtorch_cpu.so"))
        .and_then(|path| std::path::Path::new(path).parent().map(|p| p.to_path_buf()))
}

/// True when libtorch can use a CUDA GPU (after loading its CUDA backend).
pub fn cuda_available() -> bool {
    load_cuda();
    tch::Cuda::is_available()
}

/// The device training runs on: the first CUDA GPU when there is one, the CPU otherwise.
///
/// The first call prints one line saying which device was chosen and why.
pub fn device() -> Device {
    static CHOSEN: OnceLock<Device> = OnceLock::new();
    *CHOSEN.get_or_init(|| {
        let device = if cuda_available() {
            Device::Cuda(0)
        } else {
            Device::Cpu
        };
        println!("gans: {}", describe(device));
        device
    })
}

/// Parses a device name as users type it: `cpu`, `cuda`, `cuda:1`, or `auto` (= [`device()`]).
pub fn parse_device(name: &str) -> Result<Device> {
    let name = name.trim().to_ascii_lowercase();
    match name.as_str() {
        "auto" => Ok(device()),
        "cpu" => Ok(Device::Cpu),
        "cuda" | "gpu" => cuda_device(0),
        _ => match name.strip_prefix("cuda:") {
            Some(index) => {
                let index: usize = index.parse().with_context(|| {
                    format!("device `{name}`: expected cuda:N with N a GPU number, e.g. cuda:0")
                })?;
                cuda_device(index)
            }
            None => anyhow::bail!("unknown device `{name}`: use cpu, cuda, cuda:N or auto"),
        },
    }
}

fn cuda_device(index: usize) -> Result<Device> {
    if !cuda_available() {
        anyhow::bail!(
            "CUDA was asked for but libtorch sees no GPU ({}); use --device cpu, or see \
             environment.md, \"GPU notes\"",
            describe_cuda_library()
        );
    }
    let count = tch::Cuda::device_count() as usize;
    if index >= count {
        anyhow::bail!("cuda:{index} was asked for but this machine has {count} GPU(s)");
    }
    Ok(Device::Cuda(index))
}

/// A sentence about a device: which GPU, or the CPU and its thread count.
pub fn describe(device: Device) -> String {
    match device {
        Device::Cuda(index) => {
            let name = gpu_name(index).unwrap_or_else(|| "name unknown".to_string());
            format!(
                "using CUDA device {index} ({name}), cuDNN {}",
                tch::Cuda::cudnn_is_available()
            )
        }
        Device::Cpu => format!(
            "using the CPU with {} threads (no CUDA GPU: {})",
            tch::get_num_threads(),
            describe_cuda_library()
        ),
        other => format!("using {other:?}"),
    }
}

fn describe_cuda_library() -> String {
    match load_cuda() {
        CudaLibrary::Loaded(_) => "libtorch_cuda is loaded but no driver or GPU answered".into(),
        CudaLibrary::NotInThisLibtorch => "this libtorch is a CPU-only build".into(),
        CudaLibrary::Failed(e) => format!("libtorch_cuda could not be loaded: {e}"),
    }
}

/// The GPU's marketing name, asked of the CUDA driver (`libcuda.so.1`), which every machine with
/// an NVIDIA GPU has. libtorch's C API has no call for it.
pub fn gpu_name(index: usize) -> Option<String> {
    use libloading::{Library, Symbol};
    // SAFETY: the three driver functions are called with the signatures the CUDA driver API
    // documents (cuInit(unsigned), cuDeviceGet(int*, int), cuDeviceGetName(char*, int, int)),
    // and the name buffer is larger than the length we pass.
    unsafe {
        let driver = Library::new("libcuda.so.1").ok()?;
        let init: Symbol<unsafe extern "C" fn(u32) -> i32> = driver.get(b"cuInit\0").ok()?;
        let get: Symbol<unsafe extern "C" fn(*mut i32, i32) -> i32> =
            driver.get(b"cuDeviceGet\0").ok()?;
        let name: Symbol<unsafe extern "C" fn(*mut std::ffi::c_char, i32, i32) -> i32> =
            driver.get(b"cuDeviceGetName\0").ok()?;
        if init(0) != 0 {
            return None;
        }
        let mut handle = 0i32;
        if get(&mut handle, index as i32) != 0 {
            return None;
        }
        let mut buffer = [0 as std::ffi::c_char; 256];
        if name(buffer.as_mut_ptr(), 255, handle) != 0 {
            return None;
        }
        Some(
            std::ffi::CStr::from_ptr(buffer.as_ptr())
                .to_string_lossy()
                .into_owned(),
        )
    }
}

/// Seeds libtorch (weights, noise, dropout) and returns a Rust RNG seeded the same way
/// (shuffling, augmentation). The same seed gives the same run on the CPU.
pub fn seed(seed: u64) -> StdRng {
    tch::manual_seed(seed as i64);
    StdRng::seed_from_u64(seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_libtorch_in_use_is_found() {
        // Any tensor op maps libtorch_cpu.so into the process.
        let _ = tch::Tensor::zeros([1], (tch::Kind::Float, Device::Cpu));
        let folder = torch_lib_dir_in_use().expect("libtorch_cpu.so is mapped");
        assert!(
            folder.join("libtorch_cpu.so").exists(),
            "{}",
            folder.display()
        );
        if !TORCH_LIB_DIR.is_empty() {
            let built = std::path::Path::new(TORCH_LIB_DIR).canonicalize().unwrap();
            assert_eq!(folder.canonicalize().unwrap(), built);
        }
    }

    #[test]
    fn parse_device_names() {
        assert_eq!(parse_device("cpu").unwrap(), Device::Cpu);
        assert_eq!(parse_device(" CPU ").unwrap(), Device::Cpu);
        let err = parse_device("tpu").unwrap_err().to_string();
        assert!(err.contains("unknown device `tpu`"), "{err}");
        let err = parse_device("cuda:x").unwrap_err().to_string();
        assert!(err.contains("cuda:N"), "{err}");
    }

    #[test]
    fn cuda_request_matches_availability() {
        // On a GPU machine this must succeed; on a CPU-only machine it must say why it cannot.
        match parse_device("cuda") {
            Ok(device) => assert!(cuda_available() && device == Device::Cuda(0)),
            Err(e) => {
                assert!(!cuda_available());
                assert!(e.to_string().contains("--device cpu"), "{e}");
            }
        }
    }
}
