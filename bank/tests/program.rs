//! The `dynpin-bank` program's refusals at start: development mode beyond
//! the loopback, and the outbox gateway outside development mode.

use std::process::Command;

use serde_json::{Value, json};

/// Writes a configuration with `init` in a fresh directory, changes it with
/// `edit`, and runs `serve`: its exit status and standard error.
fn serve_with(name: &str, development: bool, edit: impl Fn(&mut Value)) -> (bool, String) {
    let dir = std::env::temp_dir().join(format!("dynpin-program-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let bin = env!("CARGO_BIN_EXE_dynpin-bank");
    let mut init = Command::new(bin);
    init.args(["init", "--listen", "127.0.0.1:0", "--dir"])
        .arg(&dir);
    assert!(init.status().unwrap().success());
    let path = dir.join("config.json");
    let mut config: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["development"] = json!(development);
    edit(&mut config);
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    let out = Command::new(bin)
        .args(["serve", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn development_mode_refuses_to_listen_beyond_the_loopback() {
    let (ok, stderr) = serve_with("dev-any", true, |c| {
        c["listen"] = json!("0.0.0.0:0");
        c["gateway"] = json!({ "outbox": { "file": null } });
    });
    assert!(!ok);
    assert!(stderr.contains("loopback only"), "{stderr}");
}

#[test]
fn the_outbox_gateway_is_refused_outside_development_mode() {
    let (ok, stderr) = serve_with("prod-outbox", false, |c| {
        c["gateway"] = json!({ "outbox": { "file": "outbox.jsonl" } });
    });
    assert!(!ok);
    assert!(stderr.contains("development only"), "{stderr}");
}

#[test]
fn init_without_development_writes_the_http_gateway() {
    let dir = std::env::temp_dir().join(format!("dynpin-program-{}-init", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let status = Command::new(env!("CARGO_BIN_EXE_dynpin-bank"))
        .args(["init", "--postgres", "--dir"])
        .arg(&dir)
        .status()
        .unwrap();
    assert!(status.success());
    let config: Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    assert!(config["gateway"]["http"]["url"].is_string(), "{config}");
    assert_eq!(config["development"], json!(false));
    std::fs::remove_dir_all(&dir).unwrap();
}
