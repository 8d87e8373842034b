"""Networks made of named keras.Sequential stages, with layers reachable by name.

A stage is a Sequential built from its input shape when it is made, so its weights exist
at once (a `.keras` file loads into it, `tf.train.Checkpoint` tracks every variable,
BatchNorm moving statistics included) and `model.summary(expand_nested=True)` lists every
layer. A network keeps its stages as attributes and composes them in `forward`, which is
written once and serves both the ordinary call and `activations()`.
"""
from __future__ import annotations

import keras


def stage(name: str, input_shape: tuple, layers: list) -> keras.Sequential:
    """A Sequential named `name` over `layers`, built for inputs [batch, *input_shape]."""
    return keras.Sequential([keras.Input(tuple(input_shape), name=f"{name}_input"), *layers],
                            name=name)


class StagedNetwork(keras.Model):
    """Base of the paper's networks: stages as attributes, lookup and probing by name.

    Subclasses create their stages in `__init__` and implement `forward(inputs, run)`,
    the data flow over the stages, where `run(stage, x)` applies one stage to `x`.
    Outputs are float32 under any dtype policy (the networks pin their output layers).
    """

    def find_layer(self, name: str) -> keras.layers.Layer:
        """The stage or layer called `name`, whichever stage holds it (e.g. "fg_up1")."""
        for stage_ in self.layers:
            if stage_.name == name:
                return stage_
            for layer in getattr(stage_, "layers", ()):
                if layer.name == name:
                    return layer
        raise ValueError(f"{self.name} has no layer named {name!r}; its layers are "
                         f"{self.layer_names()}")

    def layer_names(self) -> list:
        """Names of every layer in the order of the data flow of each stage."""
        return [layer.name for stage_ in self.layers
                for layer in getattr(stage_, "layers", ())]

    def activations(self, inputs, names, training=False) -> dict:
        """{name: output of the layer (or stage) called name} for one forward pass.

        `inputs` is what `call` takes; the activations are those of that very pass (the
        same values the network computes, in the layers' compute dtype).
        """
        names = list(names)
        for name in names:
            self.find_layer(name)  # raises for unknown names
        found = {}

        def run(stage_, x):
            inner = [layer.name for layer in stage_.layers if layer.name in names]
            if inner:
                probe = keras.Model(stage_.inputs[0], [stage_.outputs[0]] + [
                    stage_.get_layer(name).output for name in inner])
                out, *values = probe(x, training=training)
                found.update(zip(inner, values))
            else:
                out = stage_(x, training=training)
            if stage_.name in names:
                found[stage_.name] = out
            return out

        self.forward(inputs, run)
        return {name: found[name] for name in names}

    def forward(self, inputs, run):
        """Runs the network on `inputs`, each stage through `run(stage, x)`; every network
        defines it."""
        raise TypeError(f"{type(self).__name__} must define forward(inputs, run)")

    @staticmethod
    def _runner(training):
        return lambda stage_, x: stage_(x, training=training)

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")
