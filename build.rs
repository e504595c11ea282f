//! Build script: tells the binaries where libtorch lives at run time.
//!
//! torch-sys links `libtorch*.so` but leaves finding them at run time to the user. We bake the
//! library folder into our own binaries and tests as an rpath, and pass it to the library as
//! `GANS_TORCH_LIB` so that `gans::device()` can `dlopen` `libtorch_cuda.so` (the `--as-needed`
//! linker flag drops it otherwise; see environment.md, "GPU notes").
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=LIBTORCH");
    println!("cargo:rerun-if-env-changed=LIBTORCH_LIB");
    let lib_dir = std::env::var("LIBTORCH_LIB")
        .or_else(|_| std::env::var("LIBTORCH"))
        .map(|dir| PathBuf::from(dir).join("lib"))
        .ok()
        // Resolve `.venv/libtorch` (a symlink) so the rpath survives a moved working directory.
        .map(|dir| dir.canonicalize().unwrap_or(dir));
    match lib_dir {
        Some(dir) => {
            let dir = dir.display();
            println!("cargo:rustc-link-arg=-Wl,-rpath,{dir}");
            println!("cargo:rustc-env=GANS_TORCH_LIB={dir}");
        }
        None => println!("cargo:rustc-env=GANS_TORCH_LIB="),
    }
}
