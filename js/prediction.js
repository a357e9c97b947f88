// The header's prediction text, matching Python's snapshot.prediction_text.

/**
 * "predicted 7 (p = 0.990)"; a one-output (binary) model predicts its label where p > 0.5
 * ("predicted spam (p = 0.730)") and "not" the label otherwise, with the probability of that.
 */
export function predictionText(probabilities, predicted, labels) {
  if (probabilities.length === 1) {
    const label = labels[0] ?? "0";
    const p = probabilities[0];
    return predicted ? `predicted ${label} (p = ${p.toFixed(3)})` : `predicted not ${label} (p = ${(1 - p).toFixed(3)})`;
  }
  const p = probabilities[predicted] ?? 0;
  return `predicted ${labels[predicted] ?? predicted} (p = ${p.toFixed(3)})`;
}
