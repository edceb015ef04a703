package io.pgembed.model;

import java.util.Arrays;

/**
 * One named fp32 parameter in PyTorch layout (a Linear weight is {@code [out, in]}), row-major.
 *
 * <p>All weight sources convert to this layout, so that the weights hash and the encoder do not care where
 * the weights came from.
 */
public record WeightTensor(String name, long[] shape, float[] data) {

  public WeightTensor {
    long elements = 1;
    for (long d : shape) {
      elements *= d;
    }
    if (elements != data.length) {
      throw new IllegalArgumentException(
          "Tensor " + name + " has shape " + Arrays.toString(shape) + " (" + elements
              + " elements) but " + data.length + " values");
    }
  }

  /** The transpose of a 2-D tensor: ONNX MatMul weights are {@code [in, out]}, PyTorch's are {@code [out, in]}. */
  public WeightTensor transposed2d() {
    if (shape.length != 2) {
      throw new IllegalStateException("Tensor " + name + " is not 2-D: " + Arrays.toString(shape));
    }
    int rows = (int) shape[0];
    int cols = (int) shape[1];
    float[] out = new float[data.length];
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < cols; c++) {
        out[c * rows + r] = data[r * cols + c];
      }
    }
    return new WeightTensor(name, new long[] {cols, rows}, out);
  }

  public WeightTensor renamed(String newName) {
    return new WeightTensor(newName, shape, data);
  }

  public long dim(int i) {
    return shape[i];
  }
}
