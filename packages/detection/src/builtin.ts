// Every built-in detection type registers itself at the end of its file; importing this module makes sure all of
// them are in the core registries before a config is built (type-only imports elsewhere would not load them).
import './losses/focal_loss';
import './losses/regression_losses';
import './task_modules/anchors/anchor_generator';
import './task_modules/coders/delta_xywh_coder';
import './task_modules/assigners/max_iou_assigner';
import './task_modules/samplers/pseudo_sampler';
import './heads/retina_head';
import './detectors/single_stage';
import './datasets/coco_dataset';
import './detectors/two_stage';
