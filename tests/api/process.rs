//! The real binary as a child process: its output collected, its log files readable, stopped
//! as a service manager stops it, killed on drop.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

pub struct Running {
    child: Child,
    output: Arc<Mutex<String>>,
    dir: tempfile::TempDir,
}

impl Running {
    pub fn start(env: &[(&str, String)]) -> Self {
        Self::start_with(Command::new(env!("CARGO_BIN_EXE_yueen")), env)
    }

    /// Started in a terminal (a pseudo-terminal from util-linux's `script`), as an operator
    /// runs it by hand: its stdout is a TTY.
    pub fn start_in_terminal(env: &[(&str, String)]) -> Self {
        let mut cmd = Command::new("script");
        cmd.args(["-qefc", env!("CARGO_BIN_EXE_yueen"), "/dev/null"]);
        Self::start_with(cmd, env)
    }

    fn start_with(mut cmd: Command, env: &[(&str, String)]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        cmd.current_dir(dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
            .env("LEPTOS_OUTPUT_NAME", "yueen")
            .env("RUST_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        for stream in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let output = output.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut o = output.lock().unwrap();
                    o.push_str(&line);
                    o.push('\n');
                }
            });
        }
        Self { child, output, dir }
    }

    pub fn wait_for(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let out = self.output.lock().unwrap().clone();
            if out.contains(needle) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never printed; output:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The address from the `服务已启动: http://…` line.
    pub fn base_url(&self) -> String {
        let out = self.wait_for("服务已启动: ");
        let line = out.lines().find(|l| l.contains("服务已启动: ")).unwrap();
        line.split("服务已启动: ").nth(1).unwrap().trim().to_owned()
    }

    /// The directory it runs in (its `data/` and `logs/` are there).
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Everything it printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Every daily log file (`logs/app.<date>.log`), joined.
    pub fn log_file(&self) -> String {
        let Ok(entries) = std::fs::read_dir(self.dir.path().join("logs")) else {
            return String::new();
        };
        let mut names: Vec<_> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                name.starts_with("app.") && name.ends_with(".log")
            })
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap_or_default())
            .collect()
    }

    /// Kills it outright (SIGKILL), as a crash or the OOM killer would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM, as a service manager stopping the instance does.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    pub fn exit_code(mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                std::thread::sleep(Duration::from_millis(100));
                return (status.code(), self.output.lock().unwrap().clone());
            }
            assert!(Instant::now() < deadline, "binary did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
