/** Per-image bookkeeping carried from the data pipeline to the head (mmdet's `img_metas` entries). */
export interface DetImgMeta {
  /** Original image [h, w, c] before resizing. */
  ori_shape: number[];
  /** Resized image [h, w, c] (boxes are clamped to it). */
  img_shape: number[];
  /** Image after padding to the divisor [h, w, c] (anchor valid flags use it). */
  pad_shape: number[];
  /** [w_scale, h_scale, w_scale, h_scale], float32 as mmdet stores it. */
  scale_factor: number[];
  flip?: boolean;
  flip_direction?: string | null;
  batch_input_shape?: number[];
  filename?: string;
  ori_filename?: string;
  /** Dataset image id (COCO), carried through for evaluation. */
  img_id?: number;
}
