//! `wrapt-uninstall`: see `wrapt-uninstall --help`.

fn main() -> std::process::ExitCode {
    wrapt_install::uninstall_main()
}
