FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY togglbridge ./togglbridge
COPY workers ./workers
RUN pip install --no-cache-dir '.[monitoring]'
RUN useradd --create-home togglbridge
USER togglbridge
EXPOSE 8080
CMD ["togglbridge", "up", "--host", "0.0.0.0"]
