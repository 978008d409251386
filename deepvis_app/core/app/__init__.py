"""The live toolbox without Qt: session, workers, engine, panes, render, state and key actions."""
