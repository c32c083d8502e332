//! The `fumidai` command.

fn main() -> std::process::ExitCode {
    fumidai_gateway::cli::main()
}
