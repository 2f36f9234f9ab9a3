//! `gradual-idl`: writes `idl/gradual.json` (`make idl`), or with `--check`
//! fails if the committed file differs from what the interface generates.

use std::process::ExitCode;

fn main() -> ExitCode {
    let path = gradual_idl::workspace_root().join(gradual_idl::IDL_PATH);
    let json = match gradual_idl::generate_json() {
        Ok(json) => json,
        Err(error) => {
            eprintln!("gradual-idl: {error}");
            return ExitCode::FAILURE;
        }
    };
    if std::env::args().nth(1).as_deref() == Some("--check") {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != json {
            eprintln!("gradual-idl: {} is stale: run `make idl`", gradual_idl::IDL_PATH);
            return ExitCode::FAILURE;
        }
        return ExitCode::SUCCESS;
    }
    if let Err(error) = std::fs::write(&path, json) {
        eprintln!("gradual-idl: {}: {error}", path.display());
        return ExitCode::FAILURE;
    }
    println!("gradual-idl: wrote {}", gradual_idl::IDL_PATH);
    ExitCode::SUCCESS
}
