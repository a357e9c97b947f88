"""Models written the way users write them (not the zoo's): transformers on token ids, recurrent
classifiers, several inputs and one-output models. Each `CASES` entry builds (model, inputs)."""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

VOCAB, T, D = 20, 6, 8


def _ids(batch: int = 2, length: int = T, seed: int = 0) -> torch.Tensor:
    return torch.randint(1, VOCAB, (batch, length), generator=torch.Generator().manual_seed(seed))


class SinusoidalPE(nn.Module):
    """The tutorial positional encoding: a sinusoidal buffer added to the embeddings."""

    def __init__(self, d_model: int, max_len: int = 64) -> None:
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div)
        pe[:, 1::2] = torch.cos(position * div)
        self.register_buffer("pe", pe.unsqueeze(0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[:, : x.size(1)]


class SinusoidalTransformer(nn.Module):
    """Embedding · √d + sinusoidal PE, a 2-layer encoder, mean pooling, a linear head."""

    def __init__(self, norm_first: bool = False) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.pos = SinusoidalPE(D)
        layer = nn.TransformerEncoderLayer(D, 2, dim_feedforward=16, dropout=0.1, batch_first=True,
                                           norm_first=norm_first)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.classifier = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.pos(self.embedding(ids) * math.sqrt(D))
        return self.classifier(self.encoder(x).mean(dim=1))


class LearnedPosTransformer(nn.Module):
    """Learned positional embedding from an arange, one encoder layer, first-token readout."""

    def __init__(self) -> None:
        super().__init__()
        self.tok = nn.Embedding(VOCAB, D, padding_idx=0)
        self.pos = nn.Embedding(T, D)
        self.block = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True, activation="gelu")
        self.head = nn.Linear(D, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        positions = torch.arange(ids.shape[1], device=ids.device)
        x = self.tok(ids) + self.pos(positions)
        return self.head(self.block(x)[:, 0])


class LearnedPosParam(nn.Module):
    """Learned positions as an nn.Parameter added to the embeddings."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        self.pos = nn.Parameter(torch.randn(1, T, D) * 0.1)
        self.enc = nn.TransformerEncoderLayer(D, 4, 16, dropout=0.0, batch_first=True)
        self.out = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.enc(self.embed(ids) + self.pos)
        return self.out(h.mean(1))


class ClsTokenTransformer(nn.Module):
    """A learned CLS token concatenated in front of the sequence, read out after the encoder."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        self.cls = nn.Parameter(torch.randn(1, 1, D) * 0.1)
        self.enc = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True)
        self.head = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        cls = self.cls.expand(x.shape[0], -1, -1)
        x = torch.cat([cls, x], dim=1)
        return self.head(self.enc(x)[:, 0])


class CausalTransformer(nn.Module):
    """A causal mask from nn.Transformer.generate_square_subsequent_mask, last-token readout."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        layer = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(ids.shape[1])
        h = self.enc(self.embed(ids), mask=mask, is_causal=True)
        return self.head(h[:, -1])


class PaddingMaskTransformer(nn.Module):
    """A key padding mask computed from the ids (ids == 0): must be refused."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        layer = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True)
        self.enc = nn.TransformerEncoder(layer, 1, enable_nested_tensor=False)
        self.head = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.enc(self.embed(ids), src_key_padding_mask=ids == 0)
        return self.head(h[:, 0])


class MHAPooling(nn.Module):
    """Plain nn.MultiheadAttention self-attention with a residual and a norm, max pooled."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        self.attn = nn.MultiheadAttention(D, 2, batch_first=True)
        self.norm = nn.LayerNorm(D)
        self.fc = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        a, _ = self.attn(x, x, x)
        x = self.norm(x + a)
        return self.fc(x.max(dim=1).values)


class GRUSentiment(nn.Module):
    """Embedding → GRU → the last hidden state → a linear head."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.gru = nn.GRU(D, 10, batch_first=True)
        self.fc = nn.Linear(10, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, hidden = self.gru(self.embedding(ids))
        return self.fc(hidden[-1])


class LSTMSentiment(nn.Module):
    """Embedding → dropout → LSTM → the output at the last step → dropout → linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.drop = nn.Dropout(0.3)
        self.lstm = nn.LSTM(D, 12, batch_first=True)
        self.fc = nn.Linear(12, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, (_h, _c) = self.lstm(self.drop(self.embedding(ids)))
        return self.fc(self.drop(out[:, -1, :]))


class BiLSTMCat(nn.Module):
    """A bidirectional LSTM whose two final states are concatenated: cat(h_n[-2], h_n[-1])."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.lstm = nn.LSTM(D, 6, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(self.embedding(ids))
        return self.fc(torch.cat((h_n[-2, :, :], h_n[-1, :, :]), dim=1))


class StackedGRU(nn.Module):
    """Two GRU layers with dropout between them, mean over time, an MLP head."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.gru = nn.GRU(D, 8, num_layers=2, dropout=0.2, batch_first=True)
        self.head = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 3))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.embedding(ids))
        return self.head(out.mean(dim=1))


class LSTMAttentionPool(nn.Module):
    """LSTM outputs pooled by learned attention weights: softmax(w·h_t) over time."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.lstm = nn.LSTM(D, 8, batch_first=True)
        self.score = nn.Linear(8, 1)
        self.fc = nn.Linear(8, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(ids))
        weights = torch.softmax(self.score(out), dim=1)
        return self.fc((weights * out).sum(dim=1))


class Conv1dLSTM(nn.Module):
    """A float signal (batch, channels, time): Conv1d, then an LSTM over time."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(3, 8, kernel_size=3, padding=1)
        self.lstm = nn.LSTM(8, 10, batch_first=True)
        self.fc = nn.Linear(10, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = F.relu(self.conv(x)).permute(0, 2, 1)
        out, _ = self.lstm(h)
        return self.fc(out[:, -1])


class TextCNN(nn.Module):
    """Kim's text CNN: embedding → permute → Conv1d → max over time → linear."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.conv = nn.Conv1d(D, 6, kernel_size=3)
        self.fc = nn.Linear(6, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embedding(ids).permute(0, 2, 1)
        x = F.relu(self.conv(x))
        return self.fc(F.max_pool1d(x, x.shape[2]).squeeze(2))


class ImageTabular(nn.Module):
    """Two inputs: an image through a small CNN, tabular features through an MLP, concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                 nn.Flatten())
        self.tab = nn.Sequential(nn.Linear(5, 6), nn.ReLU())
        self.head = nn.Linear(10, 3)

    def forward(self, image: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
        return self.head(torch.cat([self.cnn(image), self.tab(table)], dim=1))


class TwoSequences(nn.Module):
    """Two token sequences (premise, hypothesis), one shared embedding: several id inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.fc = nn.Linear(2 * D, 3)

    def forward(self, premise: torch.Tensor, hypothesis: torch.Tensor) -> torch.Tensor:
        a = self.embedding(premise).mean(1)
        b = self.embedding(hypothesis).mean(1)
        return self.fc(torch.cat([a, b], dim=1))


class TwoFloatSequences(nn.Module):
    """Two float sequences (batch, features, steps), one GRU each, final states concatenated."""

    def __init__(self) -> None:
        super().__init__()
        self.gru_a = nn.GRU(3, 5, batch_first=True)
        self.gru_b = nn.GRU(3, 4, batch_first=True)
        self.fc = nn.Linear(9, 2)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        _, ha = self.gru_a(a.transpose(1, 2))
        _, hb = self.gru_b(b.transpose(1, 2))
        return self.fc(torch.cat([ha[-1], hb[-1]], dim=1))


class BinaryLogit(nn.Module):
    """One output trained with BCEWithLogitsLoss: the model returns the logit."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class BinarySigmoid(nn.Module):
    """One output with a final nn.Sigmoid (trained with BCELoss)."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 8), nn.Linear(8, 1)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.fc2(torch.tanh(self.fc1(x))))


class BinaryGRUSigmoid(nn.Module):
    """Token ids → GRU → one output through torch.sigmoid, squeezed to (batch,)."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.gru = nn.GRU(D, 6, batch_first=True)
        self.fc = nn.Linear(6, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(self.embedding(ids))
        return torch.sigmoid(self.fc(h[-1]))


class BinarySqueezed(BinaryLogit):
    """BCEWithLogits idiom returning logits of shape (batch,): `.squeeze(-1)`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


class BinarySigmoidSqueezed(BinarySigmoid):
    """A final nn.Sigmoid, then `.squeeze(1)` for BCELoss's (batch,) targets."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.sigmoid(self.fc2(torch.tanh(self.fc1(x)))).squeeze(1)


class TokenMLPBlock(nn.Module):
    """Token-wise MLP after the embedding (Linear → GELU → LayerNorm), then mean pooling."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.ff = nn.Linear(D, 12)
        self.act = nn.GELU()
        self.norm = nn.LayerNorm(12)
        self.head = nn.Linear(12, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        h = self.norm(self.act(self.ff(self.embedding(ids))))
        return self.head(h.mean(1))


class VanillaRNN(nn.Module):
    """Float (batch, steps, features) given batch first: the RNN reads it as it is."""

    def __init__(self) -> None:
        super().__init__()
        self.rnn = nn.RNN(4, 7, batch_first=True, nonlinearity="tanh")
        self.fc = nn.Linear(7, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)
        return self.fc(out[:, -1])


class TransformerFlattenHead(nn.Module):
    """An encoder whose whole output is flattened into the head: must be refused."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(VOCAB, D, padding_idx=0)
        self.enc = nn.TransformerEncoderLayer(D, 2, 16, dropout=0.0, batch_first=True)
        self.head = nn.Linear(T * D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.enc(self.embed(ids)).flatten(1))


class EncoderFinalNorm(nn.Module):
    """Sinusoidal PE with dropout, a 2-layer norm_first encoder with a final LayerNorm and a
    causal mask built from ids.size(1) (no is_causal flag), last-token readout."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.pos = SinusoidalPE(D)
        self.drop = nn.Dropout(0.1)
        layer = nn.TransformerEncoderLayer(D, 2, 16, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(D), enable_nested_tensor=False)
        self.fc = nn.Linear(D, 3)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        mask = nn.Transformer.generate_square_subsequent_mask(ids.size(1))
        return self.fc(self.encoder(self.drop(self.pos(self.embedding(ids))), mask=mask)[:, -1])


class GRUTimeMajor(nn.Module):
    """A GRU without batch_first, fed (steps, batch, dims) by a transpose."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.gru = nn.GRU(D, 6)
        self.fc = nn.Linear(6, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        _, h = self.gru(self.embedding(ids).transpose(0, 1))
        return self.fc(h[-1])


class BiLSTMMaxPool(nn.Module):
    """A bidirectional LSTM max-pooled over time with F.adaptive_max_pool1d."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.lstm = nn.LSTM(D, 6, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(12, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(ids))
        return self.fc(F.adaptive_max_pool1d(out.permute(0, 2, 1), 1).squeeze(-1))


class PoolerBinary(nn.Module):
    """BERT-style: an encoder layer, a Tanh pooler on the first token, one squeezed logit."""

    def __init__(self) -> None:
        super().__init__()
        self.embedding = nn.Embedding(VOCAB, D, padding_idx=0)
        self.enc = nn.TransformerEncoderLayer(D, 2, 16, batch_first=True, dropout=0.0)
        self.pooler = nn.Sequential(nn.Linear(D, D), nn.Tanh())
        self.fc = nn.Linear(D, 1)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(self.pooler(self.enc(self.embedding(ids))[:, 0])).squeeze(-1)


class MaxOverFeatures(nn.Module):
    """A max over the features (the units) themselves: must be refused."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(6, 8), nn.Linear(1, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)).max(dim=1, keepdim=True)[0])


def _float(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


CASES = {
    "sinusoidal_transformer": (SinusoidalTransformer, _ids),
    "sinusoidal_norm_first": (lambda: SinusoidalTransformer(norm_first=True), _ids),
    "learned_pos_embedding": (LearnedPosTransformer, _ids),
    "learned_pos_parameter": (LearnedPosParam, _ids),
    "cls_token": (ClsTokenTransformer, _ids),
    "causal_mask": (CausalTransformer, _ids),
    "padding_mask": (PaddingMaskTransformer, _ids),
    "mha_pooling": (MHAPooling, _ids),
    "gru_sentiment": (GRUSentiment, _ids),
    "lstm_sentiment": (LSTMSentiment, _ids),
    "bilstm_cat": (BiLSTMCat, _ids),
    "stacked_gru": (StackedGRU, _ids),
    "lstm_attention_pool": (LSTMAttentionPool, _ids),
    "conv1d_lstm": (Conv1dLSTM, lambda: _float(2, 3, 7)),
    "text_cnn": (TextCNN, _ids),
    "image_tabular": (ImageTabular, lambda: (_float(2, 1, 6, 6), _float(2, 5, seed=1))),
    "two_sequences": (TwoSequences, lambda: (_ids(), _ids(seed=1))),
    "two_float_sequences": (TwoFloatSequences, lambda: (_float(2, 3, 5), _float(2, 3, 5, seed=1))),
    "binary_logit": (BinaryLogit, lambda: _float(3, 6)),
    "binary_sigmoid": (BinarySigmoid, lambda: _float(3, 6)),
    "binary_gru_sigmoid": (BinaryGRUSigmoid, _ids),
    "binary_squeezed": (BinarySqueezed, lambda: _float(3, 6)),
    "binary_sigmoid_squeezed": (BinarySigmoidSqueezed, lambda: _float(3, 6)),
    "token_mlp_block": (TokenMLPBlock, _ids),
    "vanilla_rnn": (VanillaRNN, lambda: _float(2, 5, 4)),
    "transformer_flatten_head": (TransformerFlattenHead, _ids),
    "encoder_final_norm": (EncoderFinalNorm, _ids),
    "gru_time_major": (GRUTimeMajor, _ids),
    "bilstm_maxpool": (BiLSTMMaxPool, _ids),
    "pooler_binary": (PoolerBinary, _ids),
    "max_over_features": (MaxOverFeatures, lambda: _float(3, 6)),
}
