//! The `gradual` command line; see `gradual_node::cli`.

fn main() -> std::process::ExitCode {
    gradual_node::cli::main()
}
