//! Derivations: the `Derive(…)` ATerm serialisation exactly as Nix writes `.drv` files,
//! `hashDerivationModulo`, and the output and `.drv` paths `derivationStrict` computes.

use std::collections::{BTreeMap, BTreeSet};

use super::hash::{Hash, HashAlgo};
use super::paths::{self, Ingestion};
use super::StoreError;

/// One output of a derivation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DerivationOutput {
    /// Its store path (empty until computed).
    pub path: String,
    /// For fixed outputs: `[r:]algo` (e.g. `r:sha256`); empty otherwise.
    pub hash_algo: String,
    /// For fixed outputs: the expected hash in base16; empty otherwise.
    pub hash: String,
}

impl DerivationOutput {
    /// The output of a fixed-output derivation named `drv_name`.
    pub fn fixed(method: Ingestion, hash: &Hash, drv_name: &str) -> Result<Self, StoreError> {
        let prefix = if method == Ingestion::Recursive {
            "r:"
        } else {
            ""
        };
        Ok(DerivationOutput {
            path: paths::fixed_output_path(method, hash, drv_name)?,
            hash_algo: format!("{prefix}{}", hash.algo()),
            hash: hash.to_base16(),
        })
    }
}

/// A derivation, as `derivationStrict` builds it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Derivation {
    /// Outputs by name.
    pub outputs: BTreeMap<String, DerivationOutput>,
    /// Input derivations (`.drv` paths) and the outputs used of each.
    pub input_drvs: BTreeMap<String, BTreeSet<String>>,
    /// Input sources (plain store paths).
    pub input_srcs: BTreeSet<String>,
    /// `system`.
    pub platform: String,
    /// `builder`.
    pub builder: String,
    /// `args`.
    pub args: Vec<String>,
    /// The environment (every attribute, coerced to strings).
    pub env: BTreeMap<String, String>,
}

impl Derivation {
    /// True when the derivation has exactly one output, `out`, with a fixed hash.
    pub fn is_fixed_output(&self) -> bool {
        self.outputs.len() == 1 && self.outputs.get("out").is_some_and(|o| !o.hash.is_empty())
    }

    /// The ATerm text of a `.drv` file.
    pub fn to_aterm(&self) -> String {
        self.unparse(false, &self.input_drvs)
    }

    /// Nix's `unparse`: with `mask_outputs`, output paths and the environment entries
    /// named like outputs are left empty; `input_drvs` replaces the real input list (the
    /// hash modulo uses hashes instead of paths as keys).
    fn unparse(
        &self,
        mask_outputs: bool,
        input_drvs: &BTreeMap<String, BTreeSet<String>>,
    ) -> String {
        let mut s = String::with_capacity(1024);
        s.push_str("Derive([");
        for (i, (name, out)) in self.outputs.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            push_string(&mut s, name);
            s.push(',');
            push_string(&mut s, if mask_outputs { "" } else { &out.path });
            s.push(',');
            push_string(&mut s, &out.hash_algo);
            s.push(',');
            push_string(&mut s, &out.hash);
            s.push(')');
        }
        s.push_str("],[");
        for (i, (drv, outs)) in input_drvs.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            push_string(&mut s, drv);
            s.push(',');
            push_list(&mut s, outs.iter().map(String::as_str));
            s.push(')');
        }
        s.push_str("],");
        push_list(&mut s, self.input_srcs.iter().map(String::as_str));
        s.push(',');
        push_string(&mut s, &self.platform);
        s.push(',');
        push_string(&mut s, &self.builder);
        s.push(',');
        push_list(&mut s, self.args.iter().map(String::as_str));
        s.push_str(",[");
        for (i, (k, v)) in self.env.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push('(');
            push_string(&mut s, k);
            s.push(',');
            let masked = mask_outputs && self.outputs.contains_key(k);
            push_string(&mut s, if masked { "" } else { v });
            s.push(')');
        }
        s.push_str("])");
        s
    }

    /// Nix's `hashDerivationModulo`: for a fixed-output derivation, the hash of its
    /// output's identity; otherwise the sha256 of the ATerm in which every input
    /// derivation path is replaced by the base16 of *its* hash modulo, which
    /// `input_modulo` supplies (`None` for an unknown derivation).
    pub fn hash_modulo(
        &self,
        mask_outputs: bool,
        input_modulo: &mut dyn FnMut(&str) -> Option<Hash>,
    ) -> Result<Hash, StoreError> {
        if self.is_fixed_output() {
            if let Some(out) = self.outputs.get("out") {
                let text = format!("fixed:out:{}:{}:{}", out.hash_algo, out.hash, out.path);
                return Ok(Hash::digest(HashAlgo::Sha256, text.as_bytes()));
            }
        }
        let mut inputs: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (drv, outs) in &self.input_drvs {
            let h =
                input_modulo(drv).ok_or_else(|| StoreError::UnknownInputDerivation(drv.clone()))?;
            inputs
                .entry(h.to_base16())
                .or_default()
                .extend(outs.iter().cloned());
        }
        Ok(Hash::digest(
            HashAlgo::Sha256,
            self.unparse(mask_outputs, &inputs).as_bytes(),
        ))
    }

    /// Completes an input-addressed derivation like `derivationStrict`: every output
    /// gets its path (and the environment variable of the same name), computed from
    /// the hash modulo with outputs masked. Fixed outputs (made with
    /// [`DerivationOutput::fixed`]) are left as they are. Returns the `.drv` path.
    pub fn finish(
        &mut self,
        drv_name: &str,
        input_modulo: &mut dyn FnMut(&str) -> Option<Hash>,
    ) -> Result<String, StoreError> {
        if !self.is_fixed_output() {
            for (name, out) in self.outputs.iter_mut() {
                out.path.clear();
                self.env.insert(name.clone(), String::new());
            }
            let h = self.hash_modulo(true, input_modulo)?;
            for (name, out) in self.outputs.iter_mut() {
                out.path = paths::output_path(&h, name, drv_name)?;
                self.env.insert(name.clone(), out.path.clone());
            }
        } else if let Some(out) = self.outputs.get("out") {
            self.env.insert("out".into(), out.path.clone());
        }
        self.drv_path(drv_name)
    }

    /// The `.drv` path: a text path named `<name>.drv` whose references are the input
    /// sources and input derivations.
    pub fn drv_path(&self, drv_name: &str) -> Result<String, StoreError> {
        let refs: BTreeSet<String> = self
            .input_srcs
            .iter()
            .chain(self.input_drvs.keys())
            .cloned()
            .collect();
        paths::text_path(
            &format!("{drv_name}.drv"),
            self.to_aterm().as_bytes(),
            &refs,
        )
    }
}

/// An ATerm string: `"` with `"`, `\`, newline, carriage return and tab escaped.
fn push_string(s: &mut String, v: &str) {
    s.push('"');
    // The text between escaped characters is copied a run at a time: pushing char by
    // char took 12% of the instructions of an evaluation of 1,200 derivations.
    let mut rest = v;
    while let Some(i) = rest
        .bytes()
        .position(|b| matches!(b, b'"' | b'\\' | b'\n' | b'\r' | b'\t'))
    {
        // The byte at `i` is ASCII, so both splits fall on character boundaries.
        let (run, tail) = rest.split_at(i);
        s.push_str(run);
        let mut chars = tail.chars();
        s.push_str(match chars.next() {
            Some('"') => "\\\"",
            Some('\\') => "\\\\",
            Some('\n') => "\\n",
            Some('\r') => "\\r",
            _ => "\\t",
        });
        rest = chars.as_str();
    }
    s.push_str(rest);
    s.push('"');
}

fn push_list<'a>(s: &mut String, items: impl Iterator<Item = &'a str>) {
    s.push('[');
    for (i, v) in items.enumerate() {
        if i > 0 {
            s.push(',');
        }
        push_string(s, v);
    }
    s.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nix_eval(expr: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        let out = nixspot_testkit::nix("nix-instantiate")
            .args(["--eval", "--strict", "--json", "-E", expr])
            .current_dir(dir.path())
            .output()
            .expect("nix-instantiate (Debian package nix-bin) is required by this test");
        assert!(
            out.status.success(),
            "nix-instantiate failed on {expr}: {out:?}"
        );
        String::from_utf8(out.stdout).unwrap().trim().to_string()
    }

    /// A plain derivation of `name` with `attrs` as extra environment.
    fn simple(name: &str, extra: &[(&str, &str)], outputs: &[&str]) -> Derivation {
        let mut d = Derivation {
            platform: "x86_64-linux".into(),
            builder: "/bin/sh".into(),
            ..Derivation::default()
        };
        d.env.insert("name".into(), name.into());
        d.env.insert("system".into(), "x86_64-linux".into());
        d.env.insert("builder".into(), "/bin/sh".into());
        for (k, v) in extra {
            d.env.insert((*k).into(), (*v).into());
        }
        if outputs != ["out"] {
            d.env.insert("outputs".into(), outputs.join(" "));
        }
        for o in outputs {
            d.outputs.insert((*o).into(), DerivationOutput::default());
        }
        d
    }

    fn no_inputs(_: &str) -> Option<Hash> {
        None
    }

    #[test]
    fn simple_derivation_matches_nix() {
        let mut d = simple("x", &[], &["out"]);
        let drv = d.finish("x", &mut no_inputs).unwrap();
        let nix = nix_eval(
            r#"let d = derivation { name = "x"; system = "x86_64-linux"; builder = "/bin/sh"; }; in [ d.drvPath d.outPath ]"#,
        );
        assert_eq!(nix, format!(r#"["{drv}","{}"]"#, d.outputs["out"].path));
        assert_eq!(drv, "/nix/store/97qlv6h78lxlm9zc8849ahsbcklhsi2y-x.drv");
    }

    #[test]
    fn aterm_escapes_and_multiple_outputs_match_nix() {
        let weird = "quote\" backslash\\ newline\n tab\t cr\r dollar$ é";
        let mut d = simple("m", &[("weird", weird)], &["out", "dev", "lib"]);
        d.args = vec!["-c".into(), "echo \"hi\"".into()];
        let drv = d.finish("m", &mut no_inputs).unwrap();
        assert!(d
            .to_aterm()
            .contains(r#"("weird","quote\" backslash\\ newline\n tab\t cr\r dollar$ é")"#));
        let nix = nix_eval(
            r#"let d = derivation { name = "m"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" "lib" ]; args = [ "-c" "echo \"hi\"" ]; weird = "quote\" backslash\\ newline\n tab\t cr\r dollar$ é"; }; in [ d.drvPath d.out.outPath d.dev.outPath d.lib.outPath ]"#,
        );
        assert_eq!(
            nix,
            format!(
                r#"["{drv}","{}","{}","{}"]"#,
                d.outputs["out"].path, d.outputs["dev"].path, d.outputs["lib"].path
            )
        );
    }

    #[test]
    fn input_derivations_and_sources_match_nix() {
        let mut dep = simple("dep", &[], &["out", "dev"]);
        let dep_drv = dep.finish("dep", &mut no_inputs).unwrap();
        let dep_modulo = dep.hash_modulo(false, &mut no_inputs).unwrap();
        let src = paths::text_path("s.sh", b"echo", &BTreeSet::new()).unwrap();
        let dev = dep.outputs["dev"].path.clone();
        let mut top = simple(
            "top",
            &[("inc", &format!("{dev}/include")), ("script", &src)],
            &["out"],
        );
        top.input_drvs
            .insert(dep_drv.clone(), ["dev".to_string()].into_iter().collect());
        top.input_srcs.insert(src.clone());
        let mut lookup = |p: &str| (p == dep_drv).then(|| dep_modulo.clone());
        let drv = top.finish("top", &mut lookup).unwrap();
        let nix = nix_eval(
            r#"let dep = derivation { name = "dep"; system = "x86_64-linux"; builder = "/bin/sh"; outputs = [ "out" "dev" ]; }; t = derivation { name = "top"; system = "x86_64-linux"; builder = "/bin/sh"; inc = "${dep.dev}/include"; script = builtins.toFile "s.sh" "echo"; }; in [ t.drvPath t.outPath ]"#,
        );
        assert_eq!(nix, format!(r#"["{drv}","{}"]"#, top.outputs["out"].path));
        let mut unknown = |_: &str| None;
        assert_eq!(
            top.hash_modulo(true, &mut unknown).unwrap_err(),
            StoreError::UnknownInputDerivation(dep_drv)
        );
    }

    #[test]
    fn fixed_output_derivations_match_nix_and_hide_their_recipe() {
        let h = Hash::parse("sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=", None).unwrap();
        let fixed = |builder: &str, method| {
            let mut d = simple(
                "f",
                &[(
                    "outputHash",
                    "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=",
                )],
                &["out"],
            );
            d.builder = builder.into();
            d.env.insert("builder".into(), builder.into());
            if method == Ingestion::Recursive {
                d.env.insert("outputHashMode".into(), "recursive".into());
            }
            d.outputs.insert(
                "out".into(),
                DerivationOutput::fixed(method, &h, "f").unwrap(),
            );
            d
        };
        let mut a = fixed("/bin/sh", Ingestion::Flat);
        let mut b = fixed("/bin/bash", Ingestion::Flat);
        let a_drv = a.finish("f", &mut no_inputs).unwrap();
        let b_drv = b.finish("f", &mut no_inputs).unwrap();
        assert_ne!(a_drv, b_drv);
        assert_eq!(a.outputs["out"].path, b.outputs["out"].path);
        assert_eq!(
            a.hash_modulo(false, &mut no_inputs).unwrap(),
            b.hash_modulo(false, &mut no_inputs).unwrap(),
            "a fixed output's modulo hash does not depend on how it is built"
        );
        let nix = nix_eval(
            r#"let d = derivation { name = "f"; system = "x86_64-linux"; builder = "/bin/sh"; outputHash = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="; }; in [ d.drvPath d.outPath ]"#,
        );
        assert_eq!(nix, format!(r#"["{a_drv}","{}"]"#, a.outputs["out"].path));
        let mut r = fixed("/bin/sh", Ingestion::Recursive);
        let r_drv = r.finish("f", &mut no_inputs).unwrap();
        let nix = nix_eval(
            r#"let d = derivation { name = "f"; system = "x86_64-linux"; builder = "/bin/sh"; outputHashMode = "recursive"; outputHash = "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0="; }; in [ d.drvPath d.outPath ]"#,
        );
        assert_eq!(nix, format!(r#"["{r_drv}","{}"]"#, r.outputs["out"].path));
    }

    #[test]
    fn aterm_layout_is_exact() {
        let mut d = simple("x", &[], &["out"]);
        d.args = vec!["a".into()];
        d.input_srcs
            .insert("/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo".into());
        d.finish("x", &mut no_inputs).unwrap();
        let out = d.outputs["out"].path.clone();
        assert_eq!(
            d.to_aterm(),
            format!(
                r#"Derive([("out","{out}","","")],[],["/nix/store/vxjiwkjkn7x4079qvh1jkl5pn05j2aw0-foo"],"x86_64-linux","/bin/sh",["a"],[("builder","/bin/sh"),("name","x"),("out","{out}"),("system","x86_64-linux")])"#
            )
        );
    }
}
