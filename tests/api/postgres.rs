//! A real PostgreSQL server for the tests: `initdb` into a temporary directory and `pg_ctl` on
//! a free loopback port, stopped and removed on drop. Debian's `postgresql` package provides
//! the binaries (the test command installs it). PostgreSQL refuses to run as root: as root the
//! server runs as the package's `postgres` user.

use std::{
    path::{Path, PathBuf},
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use super::helpers::free_port;

pub struct Postgres {
    pub port: u16,
    dir: tempfile::TempDir,
    bin: PathBuf,
}

/// Where Debian puts the server's programs (the newest version there).
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut versions: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("PostgreSQL is installed (the test command installs it)")
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().expect("an initdb under /usr/lib/postgresql")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

impl Postgres {
    pub fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let server = Self {
            port: free_port(),
            dir,
            bin: bin_dir(),
        };
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(server.dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown the data directory to postgres");
        }
        let status = server
            .command("initdb")
            .args([
                "--auth=trust",
                "--username=yueen",
                "--encoding=UTF8",
                "--no-sync",
            ])
            .arg("-D")
            .arg(server.data())
            .status()
            .unwrap();
        assert!(status.success(), "initdb failed");
        server.resume();
        server
    }

    fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// One of the server's programs, as the user the server runs as.
    fn command(&self, program: &str) -> Command {
        let path = self.bin.join(program);
        let mut cmd = if is_root() {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        };
        cmd.stdout(Stdio::null()).stderr(Stdio::null());
        cmd
    }

    /// Starts the server (again) and waits until it takes connections.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off",
            self.port,
            self.dir.path().display()
        );
        let status = self
            .command("pg_ctl")
            .args(["start", "-w", "-t", "30", "-o", &options, "-l"])
            .arg(self.dir.path().join("server.log"))
            .arg("-D")
            .arg(self.data())
            .status()
            .unwrap();
        assert!(status.success(), "pg_ctl start failed");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "PostgreSQL did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Stops the server now (open connections are cut).
    pub fn stop(&self) {
        let _ = self
            .command("pg_ctl")
            .args(["stop", "-w", "-m", "immediate", "-D"])
            .arg(self.data())
            .status();
    }

    /// A database of its own on this server.
    pub fn url(&self, database: &str) -> String {
        let status = self
            .command("createdb")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "yueen",
            ])
            .arg(database)
            .status()
            .unwrap();
        assert!(status.success(), "createdb {database}");
        format!("postgres://yueen@127.0.0.1:{}/{database}", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        self.stop();
    }
}
