"""The toolbox in a web browser (`deepvis web`): a second front end beside `gui/`, for machines
without a display.

Like the window, it only reads what the Qt-free core hands over: the session's `Result`, the
window's arrangement (`core.window_layout`) and the key table (`keymap`). `frame` composes the
picture (pane images only), `server` serves it with the text as HTML (Starlette), `guard` keeps
other web pages and hosts out (token, Host and Origin checks), `runner` starts uvicorn. Starlette
and uvicorn are the optional extra ``deepvis[web]``: only `server` and `runner` import them.
"""
