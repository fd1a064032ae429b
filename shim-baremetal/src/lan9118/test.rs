//! The driver against a model of the LAN9118's FIFO ports and MAC CSR window, built
//! from the datasheet's word formats: frames out and in byte for byte, at every
//! length mod 4, bad frames dropped without losing step, a full TX FIFO reported.

use super::*;
use proptest::prelude::*;
use std::collections::VecDeque;
use std::vec::Vec;

#[derive(Default)]
struct Model {
    mac_regs: [u32; 16],
    csr_data: u32,
    rx_status: VecDeque<u32>,
    rx_data: VecDeque<u32>,
    tx_words: Vec<u32>,
    tx_status: VecDeque<u32>,
    tx_free: u32,
    sent: Vec<Vec<u8>>,
}

impl Model {
    fn new() -> Self {
        Model {
            tx_free: 4608,
            ..Model::default()
        }
    }

    /// Queues a received frame as the chip does: status, then the data words with the
    /// 4-byte FCS after the frame (its value does not matter to the driver).
    fn deliver(&mut self, frame: &[u8], error: bool) {
        let mut bytes = frame.to_vec();
        bytes.extend_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
        let status = ((bytes.len() as u32) << 16) | if error { STATUS_ERROR } else { 0 };
        self.rx_status.push_back(status);
        for chunk in bytes.chunks(4) {
            let mut w = [0u8; 4];
            w[..chunk.len()].copy_from_slice(chunk);
            self.rx_data.push_back(u32::from_le_bytes(w));
        }
    }

    /// Decodes the TX FIFO words once a whole frame is there.
    fn take_tx(&mut self) {
        let [a, b, ..] = self.tx_words[..] else {
            return;
        };
        let len = (a & 0x7ff) as usize;
        assert_eq!(
            a & TX_CMD_A_FIRST_LAST,
            TX_CMD_A_FIRST_LAST,
            "one segment per frame"
        );
        assert_eq!((b & 0x7ff) as usize, len, "command B repeats the length");
        if self.tx_words.len() < 2 + fifo_words(len) {
            return;
        }
        let mut frame: Vec<u8> = self.tx_words[2..]
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect();
        frame.truncate(len);
        self.sent.push(frame);
        self.tx_words.clear();
        self.tx_status.push_back(b & 0xffff_0000);
    }
}

impl Registers for Model {
    fn read(&mut self, offset: usize) -> u32 {
        match offset {
            RX_DATA_FIFO => self.rx_data.pop_front().expect("read past the RX data"),
            RX_STATUS_FIFO => self.rx_status.pop_front().expect("read past the RX status"),
            TX_STATUS_FIFO => self.tx_status.pop_front().expect("read past the TX status"),
            BYTE_TEST => BYTE_TEST_VALUE,
            HW_CFG | MAC_CSR_CMD => 0,
            RX_FIFO_INF => (self.rx_status.len() as u32) << 16,
            TX_FIFO_INF => ((self.tx_status.len() as u32) << 16) | self.tx_free,
            other => panic!("unexpected read of {other:#x}"),
        }
    }

    fn write(&mut self, offset: usize, value: u32) {
        match offset {
            TX_DATA_FIFO => {
                self.tx_words.push(value);
                self.take_tx();
            }
            MAC_CSR_DATA => self.csr_data = value,
            MAC_CSR_CMD => {
                assert_eq!(value & CSR_BUSY, CSR_BUSY);
                assert_eq!(value & (1 << 30), 0, "the driver only writes MAC registers");
                self.mac_regs[(value & 0xf) as usize] = self.csr_data;
            }
            HW_CFG | TX_CFG => {}
            other => panic!("unexpected write of {value:#x} to {other:#x}"),
        }
    }
}

const MAC: MacAddr = MacAddr([0xfe, 0xfd, 10, 0, 0, 5]);

#[test]
fn setup_programs_the_filter_and_turns_the_mac_on() {
    let nic = Lan9118::new(Model::new(), MAC).unwrap();
    let mut nic = nic;
    let m = nic.regs_mut();
    assert_eq!(m.mac_regs[MAC_ADDRL as usize], 0x0000_fdfe | (10 << 16));
    assert_eq!(m.mac_regs[MAC_ADDRH as usize], 5 << 8);
    let cr = m.mac_regs[MAC_CR as usize];
    assert_eq!(
        cr & ((1 << 2) | (1 << 3)),
        (1 << 2) | (1 << 3),
        "RXEN and TXEN"
    );
    assert_eq!(cr & (1 << 18), 0, "not promiscuous");
}

#[test]
fn no_chip_is_a_clear_error() {
    #[derive(Debug)]
    struct Nothing;
    impl Registers for Nothing {
        fn read(&mut self, _: usize) -> u32 {
            0xffff_ffff
        }
        fn write(&mut self, _: usize, _: u32) {}
    }
    let e = Lan9118::new(Nothing, MAC).unwrap_err();
    assert_eq!(e, Lan9118Error::NotFound(0xffff_ffff));
    assert!(std::format!("{e}").contains("check the base address"));
}

#[test]
fn a_full_tx_fifo_is_reported_and_nothing_written() {
    let mut nic = Lan9118::new(Model::new(), MAC).unwrap();
    nic.regs_mut().tx_free = 60;
    assert_eq!(nic.send(&[0u8; 60]).unwrap(), SendStatus::Full);
    assert!(nic.regs_mut().tx_words.is_empty());
    nic.regs_mut().tx_free = 68;
    assert_eq!(nic.send(&[0u8; 60]).unwrap(), SendStatus::Sent);
}

proptest! {
    #[test]
    fn frames_cross_the_fifos_intact(
        frames in proptest::collection::vec(
            (proptest::collection::vec(any::<u8>(), 14..=MAX_FRAME), any::<bool>()), 1..6)
    ) {
        let mut nic = Lan9118::new(Model::new(), MAC).unwrap();
        for (frame, _) in &frames {
            prop_assert_eq!(nic.send(frame).unwrap(), SendStatus::Sent);
        }
        let sent: Vec<Vec<u8>> = nic.regs_mut().sent.clone();
        prop_assert_eq!(sent, frames.iter().map(|(f, _)| f.clone()).collect::<Vec<_>>());
        // The status words of those sends are popped by the next send.
        prop_assert_eq!(nic.send(&[1u8; 14]).unwrap(), SendStatus::Sent);
        prop_assert_eq!(nic.regs_mut().tx_status.len(), 1);

        for (frame, bad) in &frames {
            nic.regs_mut().deliver(frame, *bad);
        }
        let mut buf = [0u8; MAX_FRAME];
        for (frame, bad) in &frames {
            match nic.recv(&mut buf) {
                Ok(Some(n)) => {
                    prop_assert!(!bad);
                    prop_assert_eq!(&buf[..n], &frame[..]);
                }
                Err(Lan9118Error::RxError(_)) => prop_assert!(*bad),
                other => prop_assert!(false, "unexpected {:?}", other),
            }
        }
        prop_assert_eq!(nic.recv(&mut buf).unwrap(), None);
        prop_assert!(nic.regs_mut().rx_data.is_empty());
    }

    #[test]
    fn a_short_buffer_truncates_without_losing_step(len in 14usize..200, cut in 1usize..14) {
        let mut nic = Lan9118::new(Model::new(), MAC).unwrap();
        let frame: Vec<u8> = (0..len).map(|i| i as u8).collect();
        nic.regs_mut().deliver(&frame, false);
        nic.regs_mut().deliver(&frame, false);
        let mut small = std::vec![0u8; cut];
        prop_assert_eq!(nic.recv(&mut small).unwrap(), Some(cut));
        prop_assert_eq!(&small[..], &frame[..cut]);
        let mut buf = [0u8; MAX_FRAME];
        prop_assert_eq!(nic.recv(&mut buf).unwrap(), Some(len));
        prop_assert_eq!(&buf[..len], &frame[..]);
    }
}
