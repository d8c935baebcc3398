//! Print the top-level elements of a DICOM file (tag, VR, length, short value) for debugging.
//! Patient-identifying tags (group 0010) are not printed.
use dicom_core::value::Value;
use dicom_object::{InMemDicomObject, OpenFileOptions};

fn dump(obj: &InMemDicomObject, depth: usize) {
    for e in obj.iter() {
        let tag = e.header().tag;
        if tag.group() == 0x0010 {
            continue;
        }
        let pad = "  ".repeat(depth);
        match e.value() {
            Value::Sequence(s) => {
                println!("{pad}{tag} {:?} SQ {} items", e.vr(), s.items().len());
                for it in s.items().iter().take(3) {
                    dump(it, depth + 1);
                    println!("{pad}  --");
                }
            }
            Value::PixelSequence(p) => println!(
                "{pad}{tag} {:?} pixel seq {} fragments, lens {:?}",
                e.vr(),
                p.fragments().len(),
                p.fragments().iter().map(|f| f.len()).collect::<Vec<_>>()
            ),
            Value::Primitive(v) => {
                let s = format!("{:?}", v);
                let s: String = s.chars().take(100).collect();
                println!("{pad}{tag} {:?} len {} {s}", e.vr(), v.calculate_byte_len());
            }
        }
    }
}

fn main() {
    for p in std::env::args().skip(1) {
        println!("=== {p}");
        match OpenFileOptions::new().open_file(&p) {
            Ok(o) => {
                println!("TS {}", o.meta().transfer_syntax());
                dump(&o, 0)
            }
            Err(e) => println!("error: {e}"),
        }
    }
}
