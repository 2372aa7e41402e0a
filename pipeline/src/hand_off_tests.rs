//! `hand_off`: each epoch's changes reach the consumer in one message, before the probe passes
//! the epoch (the consumer applies an epoch once it is announced, with what it has received).

use std::cell::RefCell;
use std::rc::Rc;

use pulso_dataflows::Epoch;
use pulso_events::views::ViewRow;
use timely::dataflow::operators::Input;

use crate::epoch_loop::hand_off;

#[test]
fn an_epoch_is_handed_over_whole_before_the_probe_passes_it() {
    timely::execute_directly(|worker| {
        let sent: Rc<RefCell<Vec<(Epoch, usize)>>> = Rc::default();
        let handed = Rc::clone(&sent);
        let (mut input, probe) = worker.dataflow::<Epoch, _, _>(|scope| {
            let (input, changes) = scope.new_input::<Vec<(ViewRow, Epoch, isize)>>();
            let probe = hand_off(changes, move |epoch, changes| {
                handed.borrow_mut().push((epoch, changes.len()));
            });
            (input, probe)
        });
        // Epoch 0's changes come in two batches; the epoch stays open meanwhile.
        input.send((ViewRow::AsOf(1), 0, 1));
        input.flush();
        for _ in 0..10 {
            worker.step();
        }
        input.send((ViewRow::AsOf(2), 0, 1));
        input.send((ViewRow::AsOf(3), 0, -1));
        input.flush();
        for _ in 0..10 {
            worker.step();
        }
        assert!(sent.borrow().is_empty(), "held while the epoch is open");
        assert!(probe.less_equal(&0));
        // Epoch 1 has no changes; epoch 2 is left open.
        input.advance_to(2);
        input.send((ViewRow::AsOf(4), 2, 1));
        input.flush();
        let mut steps = 0;
        while probe.less_equal(&1) {
            // Whenever the probe has passed epoch 0, its changes have been sent.
            if !probe.less_equal(&0) {
                assert_eq!(sent.borrow()[..], [(0, 3)]);
            }
            worker.step();
            steps += 1;
            assert!(steps < 1_000, "the probe never passed epoch 1");
        }
        // One message for epoch 0, none for the empty epoch 1, epoch 2 still held.
        assert_eq!(sent.borrow()[..], [(0, 3)]);
        input.close();
        while !probe.done() {
            worker.step();
        }
        assert_eq!(sent.borrow()[..], [(0, 3), (2, 1)]);
    });
}
