//! `wrapt-install`: see `wrapt-install --help`.

fn main() -> std::process::ExitCode {
    wrapt_install::install_main()
}
