//! What a run leaves behind: the transcript and one pcap per segment, written on
//! request or by a world dropped during a failing scenario.

use super::{OUT_VAR, World};
use std::format;
use std::string::String;

impl Drop for World {
    /// A world dropped by a failing scenario leaves its transcript and captures in
    /// `$UMLNET_SIM_OUT`, if set.
    fn drop(&mut self) {
        if !std::thread::panicking() {
            return;
        }
        if let Some(dir) = std::env::var_os(OUT_VAR) {
            match self.write_artifacts(std::path::Path::new(&dir)) {
                Ok(d) => std::eprintln!(
                    "transcript and captures of seed {} in {}",
                    self.seed,
                    d.display()
                ),
                Err(e) => std::eprintln!(
                    "cannot write the run's artifacts to {}: {e}",
                    dir.to_string_lossy()
                ),
            }
        }
    }
}

impl World {
    /// Writes the transcript (`transcript.txt`) and one pcap per segment
    /// (`<n>-<segment>.pcap`) into `dir/seed-<seed>/`; returns that directory.
    pub fn write_artifacts(&self, dir: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
        let dir = dir.join(format!("seed-{}", self.seed));
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("transcript.txt"), self.transcript())?;
        for (i, (name, pcap)) in self.net.pcaps().iter().enumerate() {
            let clean: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            std::fs::write(dir.join(format!("{i:02}-{clean}.pcap")), pcap.bytes())?;
        }
        Ok(dir)
    }
}
